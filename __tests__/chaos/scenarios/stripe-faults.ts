import type { FaultKind, FaultTiming } from "../../../src/emulator"
import { anomaly, type Anomaly, type ChaosContext } from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import { checkLedger, settleWebhooks, type LedgerResult, type SettleResult } from "../support/ledger"
import { Shopper, type FailedRequest, type ShopperResult } from "../support/shopper"
import { mapConcurrent, percentile } from "../support/stats"

export const SCENARIO = "stripe faults"

const KINDS: FaultKind[] = ["500", "429", "reset", "timeout"]

export interface FaultRunResult {
  checkouts: number
  concurrency: number
  failureRate: number
  durationMs: number
  /** Stripe API requests the backend made during the run, and those that failed on purpose. */
  stripeRequests: number
  injected: number
  injectedBy: Record<string, number>
  /** Completed without a single failed Store API request. */
  firstTry: number
  /** Saw at least one failed request, and completed on retry. */
  recovered: number
  gaveUp: number
  failedRequests: number
  /** Distinct error answers the shoppers got, with how often. */
  errors: { status: number | "no answer"; message: string; count: number }[]
  checkoutMsP50: number
  checkoutMsP95: number
  settle: SettleResult
  ledger: LedgerResult
  anomalies: Anomaly[]
  cartIds: string[]
}

function errorKey(failure: FailedRequest): string {
  // Request ids and timings differ between otherwise identical messages.
  const message = failure.message
    .replace(/req_[A-Za-z0-9]+/g, "req_…")
    .replace(/cart_[A-Za-z0-9]+/g, "cart_…")
    .replace(/pi_[A-Za-z0-9]+/g, "pi_…")
    .slice(0, 160)
  return `${failure.status}|${failure.step}: ${message}`
}

/**
 * `checkouts` shoppers, `concurrency` at a time, while the emulator fails `failureRate` of the
 * backend's Stripe requests with 500s, 429s (Retry-After), connection resets and timeouts that
 * outlast the SDK timeout, half of them before and half after Stripe did the work.
 */
export async function runStripeFaults(ctx: ChaosContext): Promise<FaultRunResult> {
  const { emu, scale } = ctx
  const target = await checkoutTarget(ctx)
  const anomalies: Anomaly[] = []
  emu.clearRequestLog()
  const started = Date.now()

  let when: FaultTiming = "before"
  const arm = () =>
    emu.faults.setFailureRate(scale.failureRate, { kinds: KINDS, when, holdMs: scale.faultHoldMs })
  arm()
  const flip = setInterval(() => {
    when = when === "before" ? "after" : "before"
    arm()
  }, 250)

  let done = 0
  let results: ShopperResult[]
  try {
    results = await mapConcurrent(
      Array.from({ length: scale.checkouts }, (_, i) => i),
      scale.concurrency,
      async (index) => {
        const result = await new Shopper(ctx, index, { email: `chaos-${index}@example.com` }).checkout(
          target.regionId,
          target.variantId,
          target.country
        )
        done += 1
        if (done % Math.max(1, Math.round(scale.checkouts / 10)) === 0) {
          ctx.progress(`${SCENARIO}: ${done}/${scale.checkouts} checkouts`)
        }
        return result
      }
    )
  } finally {
    clearInterval(flip)
    emu.faults.clear()
  }
  const durationMs = Date.now() - started

  const log = emu.requestLog().filter((entry) => entry.startedAt >= started && entry.route)
  const injectedBy: Record<string, number> = {}
  for (const entry of log) {
    if (entry.fault) {
      const key = `${entry.fault} ${entry.faultWhen}`
      injectedBy[key] = (injectedBy[key] ?? 0) + 1
    }
  }

  const settle = await settleWebhooks(ctx, 90_000)
  if (!settle.settled) {
    anomalies.push(
      anomaly(SCENARIO, "webhooks did not settle", JSON.stringify(settle.stuck.slice(0, 5)))
    )
  }

  const cartIds = results.map((r) => r.cartId).filter((id): id is string => Boolean(id))
  const ledger = await checkLedger(ctx, SCENARIO, cartIds)
  anomalies.push(...ledger.anomalies)

  const errors = new Map<string, { status: number | "no answer"; message: string; count: number }>()
  for (const result of results) {
    if (result.gaveUp) {
      anomalies.push(
        anomaly(
          SCENARIO,
          "cart not retryable",
          `shopper ${result.index} (cart ${result.cartId ?? "none"}) gave up: ${result.gaveUp}; last errors: ${result.failures
            .slice(-3)
            .map((f) => `${f.step} ${f.status} ${f.message.slice(0, 120)}`)
            .join(" | ")}`
        )
      )
    }
    for (const failure of result.failures) {
      const key = errorKey(failure)
      const entry = errors.get(key) ?? { status: failure.status, message: key.slice(key.indexOf("|") + 1), count: 0 }
      entry.count += 1
      errors.set(key, entry)
      if (failure.status === "no answer") {
        anomalies.push(
          anomaly(SCENARIO, "no answer", `${failure.step} on cart ${failure.cartId} after ${failure.ms} ms: ${failure.message}`)
        )
      } else if (!failure.clear) {
        anomalies.push(
          anomaly(SCENARIO, "unclear error", `${failure.step} on cart ${failure.cartId}: ${failure.status} ${failure.message}`)
        )
      }
    }
  }

  const completed = results.filter((r) => r.orderId)
  return {
    checkouts: scale.checkouts,
    concurrency: scale.concurrency,
    failureRate: scale.failureRate,
    durationMs,
    stripeRequests: log.length,
    injected: Object.values(injectedBy).reduce((a, b) => a + b, 0),
    injectedBy,
    firstTry: completed.filter((r) => r.failures.length === 0).length,
    recovered: completed.filter((r) => r.failures.length > 0).length,
    gaveUp: results.filter((r) => r.gaveUp).length,
    failedRequests: results.reduce((sum, r) => sum + r.failures.length, 0),
    errors: [...errors.values()].sort((a, b) => b.count - a.count),
    checkoutMsP50: percentile(results.map((r) => r.ms), 50),
    checkoutMsP95: percentile(results.map((r) => r.ms), 95),
    settle,
    ledger,
    anomalies,
    cartIds,
  }
}
