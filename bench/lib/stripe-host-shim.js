/**
 * Preload (`node --require`) for the backend that runs the official medusa-payment-stripe
 * plugin in the benchmark. That plugin builds its client with
 * `new Stripe(api_key, { apiVersion: "2022-11-15" })` and no way to set the API host, so this
 * file wraps the constructor of the `stripe` module the plugin resolves and adds the emulator's
 * `host`, `port` and `protocol` to every client it makes. Nothing else about the client changes.
 *
 *   BENCH_STRIPE_SHIM_FROM                     directory whose `stripe` dependency is wrapped
 *   STRIPE_HOST, STRIPE_PORT, STRIPE_PROTOCOL  where the emulator listens
 */
"use strict"

const fs = require("fs")
const path = require("path")

const from = process.env.BENCH_STRIPE_SHIM_FROM
const host = process.env.STRIPE_HOST

if (from && host) {
  const resolved = require.resolve("stripe", { paths: [from] })
  const Original = require(resolved)
  const target = {
    host,
    port: Number(process.env.STRIPE_PORT || 443),
    protocol: process.env.STRIPE_PROTOCOL || "https",
  }
  let clients = 0

  const EmulatedStripe = function (key, config) {
    clients += 1
    if (clients === 1) {
      process.stdout.write(`[bench-shim] first Stripe client constructed\n`)
    }
    return new Original(key, Object.assign({}, config, target))
  }
  Object.setPrototypeOf(EmulatedStripe, Original)
  EmulatedStripe.prototype = Original.prototype
  EmulatedStripe.Stripe = EmulatedStripe
  EmulatedStripe.default = EmulatedStripe
  require.cache[resolved].exports = EmulatedStripe

  let version = "unknown"
  let dir = path.dirname(resolved)
  while (dir !== path.dirname(dir)) {
    const manifest = path.join(dir, "package.json")
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, "utf8"))
      if (parsed.name === "stripe") {
        version = parsed.version
        break
      }
    }
    dir = path.dirname(dir)
  }
  process.stdout.write(
    `[bench-shim] stripe@${version} (${resolved}) -> ${target.protocol}://${target.host}:${target.port}\n`
  )
}
