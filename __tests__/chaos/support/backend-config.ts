import fs from "fs"
import path from "path"

import { PLUGIN_NAME, REPO_ROOT, type ScratchApp } from "../../support"

/**
 * A medusa-config.js for the chaos backend: the repository's configuration, plus the Stripe
 * client's `timeout` and `max_network_retries` from STRIPE_TIMEOUT and
 * STRIPE_MAX_NETWORK_RETRIES when the top-level configuration does not set them itself.
 */
export function writeChaosConfig(app: ScratchApp): string {
  const file = path.join(app.dir, "medusa-config.js")
  const base = JSON.stringify(path.join(REPO_ROOT, "medusa-config.js"))
  fs.writeFileSync(
    file,
    `const base = require(${base})
const env = process.env
const numeric = (value) => (value !== undefined && value !== "" ? Number(value) : undefined)
const extra = {}
if (numeric(env.STRIPE_TIMEOUT) !== undefined) extra.timeout = numeric(env.STRIPE_TIMEOUT)
if (numeric(env.STRIPE_MAX_NETWORK_RETRIES) !== undefined) {
  extra.max_network_retries = numeric(env.STRIPE_MAX_NETWORK_RETRIES)
}
const plugins = (base.plugins || []).map((plugin) =>
  plugin && typeof plugin === "object" && plugin.resolve === ${JSON.stringify(PLUGIN_NAME)}
    ? { ...plugin, options: { ...extra, ...plugin.options } }
    : plugin
)
module.exports = { ...base, plugins }
`
  )
  return file
}
