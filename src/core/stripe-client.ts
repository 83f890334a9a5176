import Stripe from "stripe"
import { PLUGIN_NAME } from "../constants"
import type { ResolvedStripeOptions } from "../options"

/**
 * The only place the plugin constructs a Stripe client. Clients are shared per configuration:
 * Medusa instantiates every processor class more than once.
 */
const clients = new Map<string, Stripe>()

export function stripeClientFor(options: ResolvedStripeOptions): Stripe {
  const cacheKey = [
    options.apiKey,
    options.apiVersion,
    options.host,
    options.port,
    options.protocol,
    options.maxNetworkRetries,
    options.timeout,
  ].join("|")
  let client = clients.get(cacheKey)
  if (!client) {
    client = new Stripe(options.apiKey, {
      // The SDK types only its own latest version; the plugin pins the one it was tested with.
      apiVersion: options.apiVersion as Stripe.LatestApiVersion,
      maxNetworkRetries: options.maxNetworkRetries,
      timeout: options.timeout,
      telemetry: false,
      appInfo: { name: PLUGIN_NAME },
      ...(options.host ? { host: options.host } : {}),
      ...(options.port ? { port: options.port } : {}),
      ...(options.protocol ? { protocol: options.protocol } : {}),
    })
    clients.set(cacheKey, client)
  }
  return client
}
