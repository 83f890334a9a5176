import type Stripe from "stripe"
import { nextRoundDelay } from "../../../src/core/webhook-events"
import { sleep } from "../../support"
import { anomaly, type Anomaly, type ChaosContext } from "./context"

/** Intent states in which Stripe holds or took the shopper's money. */
export const MONEY_TAKEN: readonly string[] = ["requires_capture", "succeeded", "processing"]

export interface SettleResult {
  settled: boolean
  waitedMs: number
  /** Events still `received` or `processing` when waiting stopped. */
  stuck: { id: string; type: string; status: string; resource_id: string | null }[]
}

/** The chaos backend's `webhook_retry_interval`, in milliseconds. */
export const CHAOS_RETRY_INTERVAL_MS = 5_000

/** The longest wait for the next round of a failed event that still counts as settling. */
const NEXT_ROUND_HORIZON_MS = 60_000

/**
 * Waits until the emulator has delivered every event and the backend has worked through them:
 * nothing staged on Medusa's event bus, no event `received` or `processing`, and no failed
 * event whose next round (handed back by the retry sweep) is due within a minute.
 */
export async function settleWebhooks(ctx: ChaosContext, timeoutMs = 60_000): Promise<SettleResult> {
  const started = Date.now()
  const { db } = ctx.e2e
  let stuck: SettleResult["stuck"] = []
  let quietSince = 0
  for (;;) {
    await ctx.emu.webhooks.flush()
    const staged = await db.count(
      `SELECT count(*) FROM staged_job WHERE event_name = 'stripe.webhook_received'`
    )
    stuck = await db.query(
      `SELECT id, type, status, resource_id FROM stripe_webhook_event
       WHERE status IN ('received', 'processing')`
    )
    const retrying = (
      await db.query<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM stripe_webhook_event WHERE status = 'failed'`
      )
    ).filter((row) => {
      const delay = nextRoundDelay(Number(row.attempts), CHAOS_RETRY_INTERVAL_MS)
      return delay !== undefined && delay <= NEXT_ROUND_HORIZON_MS
    })
    const idle = staged === 0 && stuck.length === 0 && retrying.length === 0
    if (idle) {
      quietSince = quietSince || Date.now()
      // Every stage of an event is visible in the tables above; idle for a second is enough.
      if (Date.now() - quietSince >= 1_000) {
        return { settled: true, waitedMs: Date.now() - started, stuck: [] }
      }
    } else {
      quietSince = 0
    }
    if (Date.now() - started > timeoutMs) {
      return { settled: false, waitedMs: Date.now() - started, stuck }
    }
    await sleep(500)
  }
}

export interface OrderPaymentRow {
  order_id: string
  cart_id: string
  status: string
  payment_status: string
  payment_id: string | null
  amount: number | null
  currency_code: string | null
  captured_at: Date | null
  canceled_at: Date | null
  intent_id: string | null
}

export async function ordersOfCarts(
  ctx: ChaosContext,
  cartIds: string[]
): Promise<OrderPaymentRow[]> {
  if (cartIds.length === 0) return []
  return ctx.e2e.db.query<OrderPaymentRow>(
    `SELECT o.id AS order_id, o.cart_id, o.status, o.payment_status, p.id AS payment_id, p.amount,
            p.currency_code, p.captured_at, p.canceled_at, p.data->>'id' AS intent_id
     FROM "order" o LEFT JOIN payment p ON p.order_id = o.id
     WHERE o.cart_id = ANY($1)`,
    [cartIds]
  )
}

export interface LedgerResult {
  carts: number
  orders: number
  /** Charges Stripe made for these carts (authorized or captured). */
  charges: number
  intents: number
  /** Intents holding money: authorized, captured or settling. */
  intentsWithMoney: number
  canceledIntents: number
  doubleCharges: number
  orphans: number
  anomalies: Anomaly[]
}

export interface LedgerOptions {
  /** Carts that must end with exactly one order (default: all). */
  expectOrder?: (cartId: string) => boolean
  /** Whether the orders' payments must be captured (default false: authorize only). */
  captured?: boolean
}

/**
 * Checks what Stripe holds against what Medusa recorded, for the given carts: one order per
 * cart, no cart with two intents holding money, every intent holding money belongs to its
 * cart's order (else it is orphaned), and the order's payment matches the intent.
 */
export async function checkLedger(
  ctx: ChaosContext,
  scenario: string,
  cartIds: string[],
  options: LedgerOptions = {}
): Promise<LedgerResult> {
  const expectOrder = options.expectOrder ?? (() => true)
  const wanted = new Set(cartIds)
  const intents = ctx.emu
    .paymentIntents()
    .filter((intent) => wanted.has(String(intent.metadata?.cart_id ?? "")))
  const intentIds = new Set(intents.map((intent) => intent.id))
  const charges = ctx.emu
    .charges()
    .filter((charge) => intentIds.has(String(charge.payment_intent ?? "")))
  const rows = await ordersOfCarts(ctx, cartIds)
  const anomalies: Anomaly[] = []
  const byCart = new Map<string, Stripe.PaymentIntent[]>()
  for (const intent of intents) {
    const cartId = String(intent.metadata.cart_id)
    byCart.set(cartId, [...(byCart.get(cartId) ?? []), intent])
  }
  let doubleCharges = 0
  let orphans = 0
  const orderIds = new Set(rows.map((row) => row.order_id))
  for (const cartId of cartIds) {
    const orders = rows.filter((row) => row.cart_id === cartId)
    const distinctOrders = new Set(orders.map((row) => row.order_id))
    const holding = (byCart.get(cartId) ?? []).filter((intent) =>
      MONEY_TAKEN.includes(intent.status)
    )
    if (distinctOrders.size > 1) {
      anomalies.push(
        anomaly(scenario, "duplicate orders", `cart ${cartId} has ${distinctOrders.size} orders`)
      )
    }
    if (distinctOrders.size === 0 && expectOrder(cartId)) {
      anomalies.push(
        anomaly(
          scenario,
          "missing order",
          `cart ${cartId} has no order; its intents: ${
            (byCart.get(cartId) ?? [])
              .map((intent) => `${intent.id} ${intent.status}`)
              .join(", ") || "none"
          }`
        )
      )
    }
    if (holding.length > 1) {
      doubleCharges += 1
      anomalies.push(
        anomaly(
          scenario,
          "double charge",
          `cart ${cartId}: ${holding.map((intent) => `${intent.id} ${intent.status} ${intent.amount}`).join(", ")}`
        )
      )
    }
    const paid = new Set(orders.map((row) => row.intent_id).filter(Boolean))
    for (const intent of holding) {
      if (!paid.has(intent.id)) {
        orphans += 1
        anomalies.push(
          anomaly(
            scenario,
            "orphaned authorized intent",
            `${intent.id} (${intent.status}, ${intent.amount} ${intent.currency}) of cart ${cartId} is neither an order's payment nor canceled`
          )
        )
      }
    }
    for (const row of orders) {
      if (!row.payment_id || !row.intent_id) {
        anomalies.push(
          anomaly(scenario, "order without payment", `order ${row.order_id} of cart ${cartId}`)
        )
        continue
      }
      const intent = intents.find((candidate) => candidate.id === row.intent_id)
      if (!intent) {
        anomalies.push(
          anomaly(
            scenario,
            "unknown intent",
            `order ${row.order_id} pays with ${row.intent_id}, unknown to Stripe`
          )
        )
        continue
      }
      if (!MONEY_TAKEN.includes(intent.status)) {
        anomalies.push(
          anomaly(
            scenario,
            "order not paid",
            `order ${row.order_id} pays with ${intent.id}, which is ${intent.status} at Stripe`
          )
        )
      }
      if (row.amount !== null && intent.amount !== Number(row.amount)) {
        anomalies.push(
          anomaly(
            scenario,
            "amount mismatch",
            `order ${row.order_id}: payment ${row.amount}, intent ${intent.id} ${intent.amount}`
          )
        )
      }
      const capturedAtStripe = intent.status === "succeeded"
      const wantCaptured = options.captured ?? false
      if (capturedAtStripe !== wantCaptured || Boolean(row.captured_at) !== wantCaptured) {
        anomalies.push(
          anomaly(
            scenario,
            "capture state",
            `order ${row.order_id}: intent ${intent.id} is ${intent.status}, payment captured_at ${row.captured_at ? "set" : "empty"}, expected ${wantCaptured ? "captured" : "authorized only"}`
          )
        )
      }
    }
  }
  return {
    carts: cartIds.length,
    orders: orderIds.size,
    charges: charges.length,
    intents: intents.length,
    intentsWithMoney: intents.filter((intent) => MONEY_TAKEN.includes(intent.status)).length,
    canceledIntents: intents.filter((intent) => intent.status === "canceled").length,
    doubleCharges,
    orphans,
    anomalies,
  }
}

/** What a hostile request must not change: Medusa's orders and payments, and Stripe's objects. */
export interface StateSnapshot {
  entries: Map<string, string>
}

export async function snapshotState(ctx: ChaosContext): Promise<StateSnapshot> {
  const { db } = ctx.e2e
  const entries = new Map<string, string>()
  const put = (key: string, value: unknown) => entries.set(key, JSON.stringify(value))
  for (const row of await db.query<Record<string, unknown>>(
    `SELECT id, cart_id, status, payment_status, fulfillment_status, metadata FROM "order"`
  )) {
    put(`order ${String(row.id)}`, row)
  }
  for (const row of await db.query<Record<string, unknown>>(
    `SELECT id, order_id, cart_id, amount, amount_refunded, captured_at, canceled_at,
            data->>'id' AS intent_id, data->>'status' AS intent_status FROM payment`
  )) {
    put(`payment ${String(row.id)}`, row)
  }
  for (const row of await db.query<Record<string, unknown>>(
    `SELECT id, payment_id, amount, reason FROM refund`
  )) {
    put(`refund ${String(row.id)}`, row)
  }
  for (const row of await db.query<Record<string, unknown>>(
    `SELECT id, completed_at, payment_authorized_at FROM cart`
  )) {
    put(`cart ${String(row.id)}`, row)
  }
  for (const row of await db.query<Record<string, unknown>>(
    `SELECT id, cart_id, status, is_selected, data->>'id' AS intent_id FROM payment_session`
  )) {
    put(`payment_session ${String(row.id)}`, row)
  }
  for (const intent of ctx.emu.paymentIntents()) {
    put(`intent ${intent.id}`, {
      status: intent.status,
      amount: intent.amount,
      amount_received: intent.amount_received,
      amount_capturable: intent.amount_capturable,
      metadata: intent.metadata,
    })
  }
  for (const charge of ctx.emu.charges()) {
    put(`charge ${charge.id}`, {
      captured: charge.captured,
      amount_captured: charge.amount_captured,
      amount_refunded: charge.amount_refunded,
      disputed: charge.disputed,
    })
  }
  for (const refund of ctx.emu.refunds()) {
    put(`stripe refund ${refund.id}`, { amount: refund.amount, status: refund.status })
  }
  return { entries }
}

/** Keys added, removed or changed between two snapshots. */
export function diffState(before: StateSnapshot, after: StateSnapshot): string[] {
  const changes: string[] = []
  for (const [key, value] of after.entries) {
    const old = before.entries.get(key)
    if (old === undefined) {
      changes.push(`added ${key}: ${value}`)
    } else if (old !== value) {
      changes.push(`changed ${key}: ${old} -> ${value}`)
    }
  }
  for (const key of before.entries.keys()) {
    if (!after.entries.has(key)) {
      changes.push(`removed ${key}`)
    }
  }
  return changes
}
