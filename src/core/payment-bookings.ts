import type { PgQueryable } from "./advisory-lock"

/** A Medusa `Payment` (not canceled) that rests on a PaymentIntent. */
export interface BookedPayment {
  id: string
  /** Medusa's amount, in the currency's Medusa unit. */
  amount: number
  captured: boolean
  cart_id: string | null
  order_id: string | null
  swap_id: string | null
}

/**
 * What Medusa has booked on a PaymentIntent. Money a Medusa `Payment` rests on moves only
 * through that payment's own operations (capture, refund, cancel), so the processor asks this
 * before a session operation (delete, replace) would cancel or refund an intent.
 *
 * Registered in Medusa's container as {@link PAYMENT_BOOKINGS}; tests put a model of Medusa's
 * tables there.
 */
export interface PaymentBookings {
  paymentsOf(paymentIntentId: string): Promise<BookedPayment[]>
}

export const PAYMENT_BOOKINGS = "stripePaymentBookings"

/**
 * Reads Medusa's `payment` table on the plugin's own pool, never on Medusa's: the processor is
 * called inside Medusa's transactions, and a second connection from the same pool per request
 * is how a busy backend runs its pool dry. Payments are committed long before a session of
 * the same intent can be deleted or replaced, so a read outside the transaction sees them.
 */
export function databasePaymentBookings(pool: PgQueryable): PaymentBookings {
  return {
    async paymentsOf(paymentIntentId) {
      const { rows } = await pool.query<BookedPayment & { amount: string | number }>(
        `SELECT id, amount, captured_at IS NOT NULL AS captured, cart_id, order_id, swap_id
         FROM payment
         WHERE provider_id LIKE 'stripe%' AND data->>'id' = $1 AND canceled_at IS NULL`,
        [paymentIntentId]
      )
      return rows.map((row) => ({ ...row, amount: Number(row.amount) }))
    },
  }
}

/** What an admin route that moves a payment's money names in its `:id`. */
export type MoneyRouteOwner = "order" | "payment" | "return"

/**
 * The PaymentIntents of the Stripe payments an admin route may capture, refund or cancel:
 * an order's own payments, its swaps' and those of its order edits' payment collections; one
 * payment; or the payments of the order a return belongs to (directly, or through its swap or
 * claim). Read on the plugin's own pool, before the route opens its transaction.
 */
export async function paymentIntentsOf(
  pool: PgQueryable,
  owner: MoneyRouteOwner,
  id: string
): Promise<string[]> {
  const { rows } = await pool.query<{ intent: string }>(
    `${ORDER_OF[owner]}
     SELECT DISTINCT p.data->>'id' AS intent
     FROM payment p
     WHERE p.provider_id LIKE 'stripe%' AND p.data->>'id' IS NOT NULL
       AND (p.order_id IN (SELECT id FROM target)
         OR p.swap_id IN (SELECT s.id FROM swap s WHERE s.order_id IN (SELECT id FROM target))
         OR p.id IN (SELECT link.payment_id FROM payment_collection_payments link
                     JOIN order_edit e ON e.payment_collection_id = link.payment_collection_id
                     WHERE e.order_id IN (SELECT id FROM target))
         OR p.id IN (SELECT id FROM target_payment))
     ORDER BY 1`,
    [id]
  )
  return rows.map((row) => row.intent)
}

/** The order (`target`) and payment (`target_payment`) a route's `:id` names. */
const ORDER_OF: Readonly<Record<MoneyRouteOwner, string>> = {
  order: `WITH target AS (SELECT $1::text AS id),
               target_payment AS (SELECT NULL::text AS id WHERE false)`,
  payment: `WITH target AS (SELECT NULL::text AS id WHERE false),
                 target_payment AS (SELECT $1::text AS id)`,
  return: `WITH target AS (
             SELECT COALESCE(r.order_id, s.order_id, c.order_id) AS id
             FROM return r
             LEFT JOIN swap s ON s.id = r.swap_id
             LEFT JOIN claim_order c ON c.id = r.claim_order_id
             WHERE r.id = $1),
           target_payment AS (SELECT NULL::text AS id WHERE false)`,
}
