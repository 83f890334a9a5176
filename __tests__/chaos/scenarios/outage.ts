import { sleep, type Cart } from "../../support"
import {
  anomaly,
  isClearError,
  messageOf,
  type Anomaly,
  type ChaosContext,
} from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import { checkLedger, settleWebhooks, type LedgerResult } from "../support/ledger"
import { Shopper } from "../support/shopper"
import { mapConcurrent } from "../support/stats"

export const SCENARIO = "stripe outage"

export interface OutageResult {
  outageMs: number
  carts: number
  /** The backend's Stripe requests that failed while Stripe was unreachable. */
  stripeFailures: number
  /** Store API requests answered while Stripe was unreachable, and the slowest answer. */
  refusedDuringOutage: number
  slowestAnswerMs: number
  answerBoundMs: number
  healthChecks: number
  healthFailures: number
  /** Time from Stripe's return until every cart had its order. */
  recoveryMs: number
  ledger: LedgerResult
  anomalies: Anomaly[]
}

interface OutageCart {
  group: "returns" | "leaves" | "starts"
  shopper: Shopper
  cart?: Cart
}

/**
 * Stripe becomes unreachable from the backend (every request reset or left hanging past the
 * SDK timeout) for `outageMs`, then comes back. Three groups of shoppers:
 * - `returns`: pays as the outage starts, tries to complete during it, and again after it;
 * - `leaves`: pays as the outage starts and closes the tab (only the webhook can make the order);
 * - `starts`: reaches the payment step during the outage, and pays once Stripe is back.
 * During the outage every answer must be a clear error within the SDK's retry budget and the
 * backend must stay healthy; afterwards every cart has exactly one order and nothing is orphaned.
 */
export async function runOutage(ctx: ChaosContext): Promise<OutageResult> {
  const { emu, scale } = ctx
  const anomalies: Anomaly[] = []
  const target = await checkoutTarget(ctx)
  const groups: OutageCart["group"][] = ["returns", "leaves", "starts"]
  const carts: OutageCart[] = groups.flatMap((group, g) =>
    Array.from({ length: scale.outageCartsPerGroup }, (_, i) => ({
      group,
      shopper: new Shopper(ctx, 20_000 + g * 100 + i, {
        email: `outage-${group}-${i}@example.com`,
      }),
    }))
  )
  await mapConcurrent(carts, 4, async (entry) => {
    await entry.shopper.prepareCart(target.regionId, target.variantId, target.country)
    if (entry.group !== "starts") {
      entry.cart = await entry.shopper.selectStripe()
    }
  })

  // Worst case of one Stripe call: every attempt runs into the timeout, plus the SDK's backoff.
  const answerBoundMs = (scale.sdkMaxNetworkRetries + 1) * (scale.sdkTimeoutMs + 1_000) + 5_000
  let refused = 0
  let slowest = 0
  let healthChecks = 0
  let healthFailures = 0

  emu.clearRequestLog()
  emu.faults.setFailureRate(1, { kinds: ["reset", "timeout"], holdMs: scale.faultHoldMs })
  const outageStarted = Date.now()
  const outageEnds = outageStarted + scale.outageMs
  ctx.progress(`${SCENARIO}: Stripe unreachable for ${scale.outageMs} ms`)
  try {
    for (const entry of carts) {
      if (entry.cart) {
        await entry.shopper.confirmIfNeeded(entry.cart)
      }
    }
    const attempt = async (entry: OutageCart) => {
      while (Date.now() < outageEnds - 1_000) {
        const base = `/store/carts/${entry.shopper.result.cartId}`
        const [path, body] =
          entry.group === "returns"
            ? [`${base}/complete`, undefined]
            : [`${base}/payment-session`, { provider_id: "stripe" }]
        const started = Date.now()
        try {
          const res = await ctx.store.request("POST", path, body, { timeoutMs: answerBoundMs * 2 })
          const ms = Date.now() - started
          slowest = Math.max(slowest, ms)
          if (res.ok) {
            anomalies.push(
              anomaly(
                SCENARIO,
                "success without Stripe",
                `${path} answered ${res.status} while Stripe was unreachable`
              )
            )
          } else {
            refused += 1
            if (!isClearError(res.status, res.body)) {
              anomalies.push(
                anomaly(SCENARIO, "unclear error", `${path}: ${res.status} ${messageOf(res.body)}`)
              )
            }
          }
          if (ms > answerBoundMs) {
            anomalies.push(
              anomaly(SCENARIO, "slow answer", `${path} took ${ms} ms (bound ${answerBoundMs} ms)`)
            )
          }
        } catch (error) {
          anomalies.push(
            anomaly(
              SCENARIO,
              "no answer",
              `${path} after ${Date.now() - started} ms: ${String(error)}`
            )
          )
        }
        await sleep(2_000)
      }
    }
    const health = async () => {
      while (Date.now() < outageEnds) {
        healthChecks += 1
        const ok = await fetch(`${ctx.backend().url}/health`, {
          signal: AbortSignal.timeout(5_000),
        })
          .then((res) => res.ok)
          .catch(() => false)
        if (!ok) healthFailures += 1
        await sleep(1_000)
      }
    }
    await Promise.all([
      ...carts.filter((entry) => entry.group !== "leaves").map(attempt),
      health(),
      sleep(Math.max(0, outageEnds - Date.now())),
    ])
  } finally {
    emu.faults.clear()
  }
  const recovered = Date.now()
  const stripeFailures = emu.requestLog().filter((entry) => entry.fault).length
  ctx.progress(`${SCENARIO}: Stripe is back after ${recovered - outageStarted} ms`)
  if (healthFailures > 0) {
    anomalies.push(
      anomaly(
        SCENARIO,
        "unhealthy backend",
        `${healthFailures}/${healthChecks} health checks failed`
      )
    )
  }

  await mapConcurrent(
    carts.filter((entry) => entry.group !== "leaves"),
    4,
    async (entry) => {
      try {
        if (entry.group === "starts") {
          await entry.shopper.selectStripe()
        }
        await entry.shopper.complete()
      } catch (error) {
        anomalies.push(
          anomaly(
            SCENARIO,
            "cart not retryable",
            `${entry.group} cart ${entry.shopper.result.cartId}: ${String(error)}`
          )
        )
      }
    }
  )
  const settle = await settleWebhooks(ctx, 90_000)
  if (!settle.settled) {
    anomalies.push(
      anomaly(SCENARIO, "webhooks did not settle", JSON.stringify(settle.stuck.slice(0, 5)))
    )
  }
  const cartIds = carts
    .map((entry) => entry.shopper.result.cartId)
    .filter((id): id is string => Boolean(id))
  const ledger = await checkLedger(ctx, SCENARIO, cartIds)
  for (const found of ledger.anomalies) {
    const entry = carts.find((c) => found.detail.includes(c.shopper.result.cartId ?? "-"))
    anomalies.push({ ...found, detail: `${entry ? `[${entry.group}] ` : ""}${found.detail}` })
  }
  return {
    outageMs: scale.outageMs,
    carts: carts.length,
    stripeFailures,
    refusedDuringOutage: refused,
    slowestAnswerMs: slowest,
    answerBoundMs,
    healthChecks,
    healthFailures,
    recoveryMs: Date.now() - recovered,
    ledger,
    anomalies,
  }
}
