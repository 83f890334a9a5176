import type { FaultKind, FaultTiming } from "../../../src/emulator"
import { waitFor } from "../../support"
import {
  anomaly,
  isClearError,
  messageOf,
  type Anomaly,
  type ChaosContext,
} from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import {
  checkLedger,
  settleWebhooks,
  type LedgerResult,
  type SettleResult,
} from "../support/ledger"
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
        const result = await new Shopper(ctx, index, {
          email: `chaos-${index}@example.com`,
        }).checkout(target.regionId, target.variantId, target.country)
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
      const entry = errors.get(key) ?? {
        status: failure.status,
        message: key.slice(key.indexOf("|") + 1),
        count: 0,
      }
      entry.count += 1
      errors.set(key, entry)
      if (failure.status === "no answer") {
        anomalies.push(
          anomaly(
            SCENARIO,
            "no answer",
            `${failure.step} on cart ${failure.cartId} after ${failure.ms} ms: ${failure.message}`
          )
        )
      } else if (!failure.clear) {
        anomalies.push(
          anomaly(
            SCENARIO,
            "unclear error",
            `${failure.step} on cart ${failure.cartId}: ${failure.status} ${failure.message}`
          )
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
    checkoutMsP50: percentile(
      results.map((r) => r.ms),
      50
    ),
    checkoutMsP95: percentile(
      results.map((r) => r.ms),
      95
    ),
    settle,
    ledger,
    anomalies,
    cartIds,
  }
}

const RETRIEVE = "GET /v1/payment_intents/:id"

export interface AfterAuthorizationResult {
  cartId: string
  intentId: string
  /** Whether the failure landed after Stripe's authorization answer, while the order was made. */
  hit: boolean
  /** Stripe requests the completion made after the authorization read. */
  laterRequests: number
  /** What the shopper's first completion got. */
  firstAnswer: string
  orderId?: string
  ledger: LedgerResult
  anomalies: Anomaly[]
}

/**
 * The deterministic form of what the fault run finds by chance: Stripe answers the
 * authorization read, then fails every try of the next read (while Medusa writes the order).
 * The shopper must get a clear error and a cart that completes on retry, with no money held
 * outside an order.
 */
export async function faultAfterAuthorization(
  ctx: ChaosContext
): Promise<AfterAuthorizationResult> {
  const { emu, scale } = ctx
  const anomalies: Anomaly[] = []
  const scenario = `${SCENARIO} (after authorization)`
  const target = await checkoutTarget(ctx)
  const shopper = new Shopper(ctx, 50_000, {
    email: `after-authorization-${Date.now()}@example.com`,
  })
  const cartId = await shopper.prepareCart(target.regionId, target.variantId, target.country)
  const cart = await shopper.selectStripe()
  const intentId = String(cart.payment_session?.data.id)
  emu.webhooks.pause()
  let firstAnswer = ""
  let hit = false
  let laterRequests = 0
  try {
    await shopper.confirmIfNeeded(cart)
    emu.clearRequestLog()
    const inFlight = ctx.store.request<{ type?: string; message?: string }>(
      "POST",
      `/store/carts/${cartId}/complete`,
      undefined,
      { timeoutMs: 60_000 }
    )
    await waitFor(
      () =>
        emu
          .requestLog()
          .some((e) => e.route === RETRIEVE && e.path.includes(intentId) && e.status === 200),
      { timeoutMs: 20_000, intervalMs: 1, description: "Stripe answering the authorization read" }
    )
    emu.faults.failNext(scale.sdkMaxNetworkRetries + 1, { route: RETRIEVE, kind: "500" })
    const first = await inFlight
    firstAnswer = `${first.status} ${first.ok ? String(first.body.type) : messageOf(first.body)}`
    const log = emu.requestLog()
    const authorized = log.findIndex(
      (e) => e.route === RETRIEVE && e.path.includes(intentId) && e.status === 200
    )
    laterRequests = log.slice(authorized + 1).length
    hit = log.some((e) => e.route === RETRIEVE && e.fault === "500")
    if (!first.ok && !isClearError(first.status, first.body)) {
      anomalies.push(anomaly(scenario, "unclear error", `complete: ${firstAnswer}`))
    }
  } finally {
    emu.faults.clear()
    emu.webhooks.resume()
  }
  let orderId: string | undefined
  try {
    orderId = await shopper.complete()
  } catch (error) {
    const last = shopper.result.failures.at(-1)
    anomalies.push(
      anomaly(
        scenario,
        "cart not retryable",
        `cart ${cartId}: first answer ${firstAnswer}; retries: ${String(error)}; last answer ${last?.status} ${last?.message}`
      )
    )
  }
  await settleWebhooks(ctx, 60_000)
  const ledger = await checkLedger(ctx, scenario, [cartId])
  anomalies.push(...ledger.anomalies)
  return { cartId, intentId, hit, laterRequests, firstAnswer, orderId, ledger, anomalies }
}
