import { asValue } from "awilix"
import type { MedusaContainer } from "@medusajs/medusa"
import { parseOptions } from "../options"

/** Container key: the API host the plugin talks to instead of Stripe's, or null. */
export const STRIPE_API_HOST_KEY = "stripePluginApiHost"

/** `http://127.0.0.1:12111` for `host: "127.0.0.1", port: 12111, protocol: "http"`; null without `host`. */
export function customApiHost(options: {
  readonly host?: string
  readonly port?: number
  readonly protocol?: "http" | "https"
}): string | null {
  if (!options.host) {
    return null
  }
  return `${options.protocol ?? "https"}://${options.host}${options.port ? `:${options.port}` : ""}`
}

/**
 * Registers the API host of the plugin's options (the bundled emulator, stripe-mock), so that
 * the admin links to Stripe's dashboard only for payments that Stripe itself holds. Bad options
 * are reported by the webhook loader and refused by the payment providers; nothing to add here.
 */
export default async function stripeApiHostLoader(
  container: MedusaContainer,
  pluginOptions?: Record<string, unknown>
): Promise<void> {
  let host: string | null
  try {
    host = customApiHost(parseOptions(pluginOptions))
  } catch {
    return
  }
  container.register(STRIPE_API_HOST_KEY, asValue(host))
}
