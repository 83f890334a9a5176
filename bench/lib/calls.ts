import { sleep } from "../../__tests__/support"
import { adminStep, checkoutOnce, type Shop, type StepName, type StepObserver } from "./shop"

/** Stripe API requests one step made, from the emulator's counters and request log. */
export interface StepCalls {
  step: StepName
  calls: number
  /** Route label -> count, e.g. `{ "GET /v1/payment_intents/:id": 3 }`. */
  byRoute: Record<string, number>
  /** The requests in order: `POST /v1/payment_intents -> 200`. */
  requests: string[]
}

export interface CallsResult {
  /** A shopper whose email the store has not seen: the plugin creates their Stripe customer. */
  firstTime: StepCalls[]
  /** The same shopper again: the Stripe customer is reused. */
  returning: StepCalls[]
}

/** Counts the Stripe calls of each step: counters reset before it, read after a pause. */
function callCounter(shop: Shop, settleMs: number, into: StepCalls[]): StepObserver {
  let since = 0
  return {
    before() {
      shop.emulator.resetCounters()
      since = Date.now()
    },
    async after(step) {
      // Work a request sets off in the background (subscribers) counts for that request.
      await sleep(settleMs)
      const byRoute = shop.emulator.counters()
      const requests = shop.emulator
        .requestLog()
        .filter((entry) => entry.startedAt >= since)
        .map(
          (entry) =>
            `${entry.route ?? `${entry.method} ${entry.path}`} -> ${entry.status ?? "no response"}${entry.replayed ? " (replayed)" : ""}`
        )
      const calls = Object.values(byRoute).reduce((acc, n) => acc + n, 0)
      into.push({ step, calls, byRoute, requests })
    },
  }
}

/**
 * Flow A: a first-time customer checks out, the merchant captures and refunds part of it.
 * Flow B: the same customer checks out again and the merchant cancels the order.
 */
export async function measureCalls(
  shop: Shop,
  email: string,
  settleMs = 300
): Promise<CallsResult> {
  const firstTime: StepCalls[] = []
  const observerA = callCounter(shop, settleMs, firstTime)
  const a = await checkoutOnce(shop, { email, observer: observerA })
  if (!a.orderId) throw new Error("Flow A made no order")
  await adminStep(shop, "capture", a.orderId, observerA)
  await adminStep(shop, "refund", a.orderId, observerA)

  const returning: StepCalls[] = []
  const observerB = callCounter(shop, settleMs, returning)
  const b = await checkoutOnce(shop, { email, observer: observerB })
  if (!b.orderId) throw new Error("Flow B made no order")
  await adminStep(shop, "cancel", b.orderId, observerB)
  shop.emulator.resetCounters()
  return { firstTime, returning }
}
