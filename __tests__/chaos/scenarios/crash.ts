import { sleep, waitFor, type Order } from "../../support"
import { anomaly, type Anomaly, type ChaosContext } from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import { checkLedger, settleWebhooks } from "../support/ledger"
import { Shopper } from "../support/shopper"

export const SCENARIO = "crash"

const RETRIEVE = "GET /v1/payment_intents/:id"
const CAPTURE = "POST /v1/payment_intents/:id/capture"

export interface CrashCase {
  label: string
  /**
   * `held`: killed while Stripe's answer to the authorization read is held back;
   * `answered`: killed `afterResponseMs` after Stripe answered that read;
   * `payment recorded`: killed once Medusa has recorded the authorized payment, before the order.
   */
  trigger: "held" | "answered" | "payment recorded"
  afterResponseMs: number
}

export interface CrashResult {
  label: string
  cartId: string
  intentId: string
  /** Orders of the cart right after the kill (0: the kill came before the order was written). */
  ordersAtKill: number
  exit: string
  restartMs: number
  /** Events of the intent sent again after the restart. */
  redelivered: number
  orderId?: string
  orderTotal?: number
  intentStatus?: string
  intentAmount?: number
  anomalies: Anomaly[]
}

export function crashCases(delays: number[]): CrashCase[] {
  return [
    {
      label: "while Stripe's authorization answer is on its way",
      trigger: "held",
      afterResponseMs: 0,
    },
    ...delays.map((ms): CrashCase => ({
      label: `${ms} ms after Stripe answered the authorization read`,
      trigger: "answered",
      afterResponseMs: ms,
    })),
    {
      label: "once Medusa recorded the authorized payment, before the order",
      trigger: "payment recorded",
      afterResponseMs: 0,
    },
  ]
}

/**
 * The shopper paid (Stripe authorized) and asks the backend to complete the cart; the backend
 * is SIGKILLed between Stripe's answer and the order. After a restart on the same port, Stripe
 * redelivers the intent's events and the shopper retries: exactly one order must exist, paid by
 * that intent, for its amount, authorized and not captured.
 */
export async function crashDuringCompletion(
  ctx: ChaosContext,
  crash: CrashCase
): Promise<CrashResult> {
  const { emu } = ctx
  const anomalies: Anomaly[] = []
  const target = await checkoutTarget(ctx)
  const shopper = new Shopper(ctx, 10_000 + Math.floor(Math.random() * 1000), {
    email: `crash-${Date.now()}@example.com`,
  })
  const cartId = await shopper.prepareCart(target.regionId, target.variantId, target.country)
  const cart = await shopper.selectStripe()
  const intentId = String(cart.payment_session?.data.id)

  // Stripe's events wait, as they would behind a slow delivery, so only the shopper completes.
  emu.webhooks.pause()
  await shopper.confirmIfNeeded(cart)
  emu.clearRequestLog()
  const arrivedBefore = emu.counters()[RETRIEVE] ?? 0
  if (crash.trigger === "held") {
    emu.faults.setLatency(15_000, RETRIEVE)
  }

  const inFlight = ctx.store
    .request("POST", `/store/carts/${cartId}/complete`, undefined, { timeoutMs: 30_000 })
    .then((res) => `answered ${res.status}`)
    .catch((error: unknown) => `cut: ${error instanceof Error ? error.message : String(error)}`)

  if (crash.trigger === "held") {
    await waitFor(() => (emu.counters()[RETRIEVE] ?? 0) > arrivedBefore, {
      timeoutMs: 20_000,
      intervalMs: 5,
      description: "the authorization read reaching Stripe",
    })
  } else if (crash.trigger === "answered") {
    await waitFor(
      () =>
        emu
          .requestLog()
          .some(
            (entry) =>
              entry.route === RETRIEVE && entry.path.includes(intentId) && entry.status === 200
          ),
      { timeoutMs: 20_000, intervalMs: 1, description: "Stripe answering the authorization read" }
    )
    if (crash.afterResponseMs > 0) {
      await sleep(crash.afterResponseMs)
    }
  } else {
    await waitFor(
      async () => {
        const row = await ctx.e2e.db.one<{ payments: string; orders: string }>(
          `SELECT (SELECT count(*) FROM payment WHERE cart_id = $1) AS payments,
                  (SELECT count(*) FROM "order" WHERE cart_id = $1) AS orders`,
          [cartId]
        )
        return Number(row?.payments) > 0 || Number(row?.orders) > 0
      },
      { timeoutMs: 20_000, intervalMs: 2, description: "Medusa recording the payment" }
    )
  }
  const exit = await ctx.backend().kill("SIGKILL")
  const ordersAtKill = await ctx.e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [
    cartId,
  ])
  emu.faults.setLatency(0, RETRIEVE)
  const shopperSaw = await inFlight

  const restartStarted = Date.now()
  await ctx.restartBackend()
  const restartMs = Date.now() - restartStarted

  emu.webhooks.resume()
  await emu.webhooks.flush()
  const events = emu
    .events()
    .filter((event) => (event.data.object as { id?: string }).id === intentId)
  for (const event of events) {
    await emu.webhooks.redeliver(event.id)
  }
  // The shopper's browser retries too, whatever the webhook is doing.
  let orderId: string | undefined
  try {
    orderId = await shopper.complete()
  } catch (error) {
    anomalies.push(
      anomaly(
        SCENARIO,
        "cart not retryable",
        `${crash.label}: cart ${cartId}: ${String(error)}; shopper saw ${shopperSaw}`
      )
    )
  }
  const settle = await settleWebhooks(ctx, 60_000)
  if (!settle.settled) {
    anomalies.push(
      anomaly(SCENARIO, "webhooks did not settle", JSON.stringify(settle.stuck.slice(0, 5)))
    )
  }
  for (const failure of shopper.result.failures) {
    if (failure.status !== "no answer" && !failure.clear) {
      anomalies.push(
        anomaly(SCENARIO, "unclear error", `${failure.step}: ${failure.status} ${failure.message}`)
      )
    }
  }

  const ledger = await checkLedger(ctx, SCENARIO, [cartId])
  anomalies.push(...ledger.anomalies.map((a) => ({ ...a, detail: `${crash.label}: ${a.detail}` })))
  const intent = emu.paymentIntent(intentId)
  let orderTotal: number | undefined
  if (orderId) {
    const { order } = await ctx.admin.get<{ order: Order }>(`/admin/orders/${orderId}`)
    orderTotal = order.total
    if (order.total !== intent?.amount) {
      anomalies.push(
        anomaly(
          SCENARIO,
          "amount mismatch",
          `${crash.label}: order total ${order.total}, intent ${intent?.amount}`
        )
      )
    }
    const payments = order.payments ?? []
    if (payments.length !== 1 || payments[0].data?.id !== intentId) {
      anomalies.push(
        anomaly(
          SCENARIO,
          "wrong payment",
          `${crash.label}: order ${orderId} payments ${JSON.stringify(payments.map((p) => p.data?.id))}, expected [${intentId}]`
        )
      )
    }
  }
  const captures = emu
    .requestLog()
    .filter((entry) => entry.route === CAPTURE && entry.path.includes(intentId))
  if (captures.length > 0) {
    anomalies.push(
      anomaly(SCENARIO, "unexpected capture", `${crash.label}: ${captures.length} capture calls`)
    )
  }
  const unprocessed = await ctx.e2e.db.query<{ id: string; status: string }>(
    `SELECT id, status FROM stripe_webhook_event WHERE resource_id = $1 AND status NOT IN ('processed', 'ignored')`,
    [cartId]
  )
  if (unprocessed.length > 0) {
    anomalies.push(
      anomaly(SCENARIO, "event not processed", `${crash.label}: ${JSON.stringify(unprocessed)}`)
    )
  }
  return {
    label: crash.label,
    cartId,
    intentId,
    ordersAtKill,
    exit: `${exit.signal ?? exit.code}`,
    restartMs,
    redelivered: events.length,
    orderId,
    orderTotal,
    intentStatus: intent?.status,
    intentAmount: intent?.amount,
    anomalies,
  }
}
