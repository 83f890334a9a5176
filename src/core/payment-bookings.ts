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
