import fs from "fs"
import { createRequire } from "module"
import path from "path"

import { PLUGIN_NAME, REPO_ROOT, ScratchApp } from "./app"

/** The emulator's API (types from the source; the code itself comes from the built package). */
export type StripeEmulatorModule = typeof import("../../src/emulator")
export type StripeEmulator = import("../../src/emulator").StripeEmulator

/**
 * The emulator as a merchant's tests would load it: `medusa-stripe-payments/testing` from the
 * app's node_modules (the packed tarball), else the repository's dist/emulator. Undefined when
 * neither has been built.
 */
export function loadEmulatorModule(app?: ScratchApp): StripeEmulatorModule | undefined {
  const candidates: { from: string; request: string }[] = []
  if (app) {
    candidates.push({ from: path.join(app.dir, "package.json"), request: `${PLUGIN_NAME}/testing` })
  }
  candidates.push({
    from: path.join(REPO_ROOT, "package.json"),
    request: path.join(REPO_ROOT, "dist", "emulator"),
  })
  for (const candidate of candidates) {
    const load = createRequire(candidate.from)
    let resolved: string
    try {
      resolved = load.resolve(candidate.request)
    } catch {
      continue
    }
    if (!fs.existsSync(resolved)) {
      continue
    }
    const loaded = load(resolved) as Partial<StripeEmulatorModule>
    if (loaded.StripeEmulator && typeof loaded.StripeEmulator.start === "function") {
      return loaded as StripeEmulatorModule
    }
  }
  return undefined
}

export interface StartedEmulator {
  emulator: StripeEmulator
  /** Environment pointing the backend's Stripe client at the emulator. */
  env: Record<string, string>
}

/** Starts the emulator on a free port; undefined when it is not built. */
export async function startEmulator(
  app: ScratchApp | undefined,
  apiKey: string
): Promise<StartedEmulator | undefined> {
  const mod = loadEmulatorModule(app)
  if (!mod) {
    return undefined
  }
  const emulator = await mod.StripeEmulator.start({ port: 0 })
  const config = emulator.stripeConfig()
  return {
    emulator,
    env: {
      STRIPE_API_KEY: apiKey,
      STRIPE_HOST: config.host,
      STRIPE_PORT: String(config.port),
      STRIPE_PROTOCOL: config.protocol,
    },
  }
}

/** Registers `url` as a webhook endpoint and returns its signing secret. */
export function addWebhookEndpoint(emulator: StripeEmulator, url: string, secret: string): string {
  return emulator.webhooks.addEndpoint({ url, secret }).secret
}
