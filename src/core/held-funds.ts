import type Stripe from "stripe"
import { formatStripeAmount } from "./amounts"
import { StripePluginError } from "./errors"

/**
 * An intent counts as authorized only while Stripe holds, for this resource, the amount Medusa
 * is about to book. An intent's status says what once happened to it, not what Stripe holds
 * now: a `succeeded` intent may have been refunded since (the shopper was refunded when a
 * completion ran out of stock, or when the cart switched providers), and an order placed on it
 * would be booked as paid with no money behind it.
 */

/** The part of a PaymentIntent (with `latest_charge` expanded) that tells what Stripe holds. */
export type HeldIntent = Pick<
  Stripe.PaymentIntent,
  "id" | "status" | "amount" | "currency" | "amount_capturable" | "amount_received"
> & { latest_charge?: string | Pick<Stripe.Charge, "amount_refunded"> | null }

/** The `expand` a retrieve needs for {@link heldAmount}. */
export const HELD_FUNDS_EXPAND = ["latest_charge"]

/** What Stripe holds for the intent now, in Stripe's minor units. */
export function heldAmount(intent: HeldIntent): number {
  switch (intent.status) {
    case "requires_capture":
      return intent.amount_capturable
    case "succeeded":
      return Math.max(0, intent.amount_received - refundedOf(intent))
    default:
      return 0
  }
}

function refundedOf(intent: HeldIntent): number {
  const charge = intent.latest_charge
  if (typeof charge === "string") {
    // A programming error, not a state of the payment: the caller forgot HELD_FUNDS_EXPAND.
    throw new Error(`PaymentIntent ${intent.id} was read without its latest charge`)
  }
  return charge?.amount_refunded ?? 0
}

/**
 * Throws unless Stripe holds exactly `expected` on the intent, in the expected currency.
 * The error names what Stripe holds and why it is not what Medusa would book.
 */
export function assertHolds(
  intent: HeldIntent,
  expected: { amount: number; currency: string },
  what: string
): void {
  if (intent.currency !== expected.currency || intent.amount !== expected.amount) {
    throw new StripePluginError(
      "amount_mismatch",
      `Stripe authorized ${formatStripeAmount(intent.amount, intent.currency)} on ${intent.id} but ${what} is ${formatStripeAmount(expected.amount, expected.currency)}`,
      "Update the payment session so the intent follows the total, then confirm again"
    )
  }
  const held = heldAmount(intent)
  if (held < expected.amount) {
    throw new StripePluginError(
      "payment_no_longer_held",
      `Stripe holds ${formatStripeAmount(held, intent.currency)} of the ${formatStripeAmount(expected.amount, expected.currency)} authorized on ${intent.id}: the rest was refunded or released`,
      "Refresh the payment session (POST /store/carts/:id/payment-sessions/:provider_id/refresh) and pay again"
    )
  }
}
