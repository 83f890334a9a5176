import type Stripe from "stripe"
import type { StripeSessionData } from "./session-data"
import { isPluginRefund } from "./webhook-events"

/** Refund states in which the money is on its way back (or back already). */
const LIVE_REFUND_STATUSES: ReadonlySet<string> = new Set([
  "succeeded",
  "pending",
  "requires_action",
])

/**
 * Every refund carries a key of its own operation, so a merchant's retry after a failure is
 * not answered with the stored failure. The price is that a retry after a *lost success*
 * (Stripe refunded, then Medusa's transaction rolled back) must not refund again: before it
 * refunds, the processor looks among the intent's refunds for one the plugin made that the
 * payment's books do not hold, of the same amount, and adopts it as this operation's result.
 */
export function earlierAttemptOf(
  refunds: readonly Stripe.Refund[],
  data: StripeSessionData,
  amount: number
): Stripe.Refund | undefined {
  const booked = new Set((data.refunds ?? []).map((refund) => refund.id))
  return refunds.find(
    (refund) =>
      isPluginRefund(refund) &&
      refund.amount === amount &&
      !booked.has(refund.id) &&
      LIVE_REFUND_STATUSES.has(refund.status ?? "")
  )
}
