/**
 * Size of the chaos suite. `CHAOS_SCALE=full` is the reliability run (`npm run test:chaos`);
 * anything else is the short form (`jest --selectProjects chaos`). Single knobs can be overridden
 * with CHAOS_CHECKOUTS, CHAOS_CONCURRENCY, CHAOS_WEBHOOK_CASES, CHAOS_OUTAGE_MS and CHAOS_SEED.
 */
export interface ChaosScale {
  name: "full" | "short"
  /** Checkouts driven while the emulator fails a share of the backend's Stripe calls. */
  checkouts: number
  concurrency: number
  /** Share of Stripe API calls that fail during the fault run. */
  failureRate: number
  /** The plugin's Stripe client timeout on the chaos backend (ms). */
  sdkTimeoutMs: number
  sdkMaxNetworkRetries: number
  /** How long a `timeout` fault holds a request: past the SDK timeout. */
  faultHoldMs: number
  /** Generated requests against `POST /stripe/hooks`. */
  webhookCases: number
  /** How long Stripe stays unreachable in the outage run (ms). */
  outageMs: number
  /** Carts per group of the outage run. */
  outageCartsPerGroup: number
  /**
   * Delays (ms) after Stripe answered the authorization at which the backend is killed (on top
   * of a kill while the answer is held back and one once Medusa recorded the payment).
   */
  crashDelaysMs: number[]
  seed: number
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === "") {
    return fallback
  }
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  }
  return value
}

export function chaosScale(): ChaosScale {
  const full = process.env.CHAOS_SCALE === "full"
  const sdkTimeoutMs = 1_500
  return {
    name: full ? "full" : "short",
    checkouts: intFromEnv("CHAOS_CHECKOUTS", full ? 300 : 40),
    concurrency: Math.max(1, intFromEnv("CHAOS_CONCURRENCY", 8)),
    failureRate: 0.2,
    sdkTimeoutMs,
    sdkMaxNetworkRetries: 2,
    faultHoldMs: sdkTimeoutMs + 1_500,
    webhookCases: intFromEnv("CHAOS_WEBHOOK_CASES", full ? 5_000 : 1_000),
    outageMs: intFromEnv("CHAOS_OUTAGE_MS", full ? 60_000 : 10_000),
    outageCartsPerGroup: full ? 6 : 2,
    crashDelaysMs: full ? [0, 10, 25, 50, 100, 200] : [],
    seed: intFromEnv("CHAOS_SEED", 20_241_124),
  }
}
