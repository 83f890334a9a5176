import type Stripe from "stripe"
import { fromStripeAmount } from "./amounts"
import { isPluginRefund } from "./webhook-events"

/** What the admin shows about one Stripe payment of an order. Amounts in Medusa's unit. */
export type StripePaymentDetails = {
  payment_id: string
  provider_id: string
  payment_intent_id: string
  dashboard_url: string
  status: Stripe.PaymentIntent.Status
  currency: string
  amount: number
  amount_authorized: number
  amount_captured: number
  amount_refunded: number
  payment_method: {
    type: string | null
    brand: string | null
    last4: string | null
    wallet: string | null
  }
  three_d_secure: { result: string | null; version: string | null } | null
  risk: { level: string | null; score: number | null } | null
  disputes: Array<{ id: string; status: string; reason: string; amount: number }>
  refunds: Array<{
    id: string
    amount: number
    status: string | null
    reason: string | null
    made_outside_medusa: boolean
  }>
}

/** A link to the intent in the Stripe dashboard, in test or live mode as the key is. */
export function dashboardUrl(intentId: string, livemode: boolean): string {
  return `https://dashboard.stripe.com/${livemode ? "" : "test/"}payments/${intentId}`
}

function chargeOf(intent: Stripe.PaymentIntent): Stripe.Charge | null {
  return typeof intent.latest_charge === "object" ? intent.latest_charge : null
}

/** Projects what Stripe knows about a payment onto the admin's view of it. */
export function toPaymentDetails(input: {
  paymentId: string
  providerId: string
  intent: Stripe.PaymentIntent
  refunds: Stripe.Refund[]
  disputes: Stripe.Dispute[]
  livemode: boolean
}): StripePaymentDetails {
  const { intent } = input
  const currency = intent.currency
  const money = (amount: number) => fromStripeAmount(amount, currency)
  const charge = chargeOf(intent)
  const details = charge?.payment_method_details ?? null
  const card = details?.card ?? null
  const authorized =
    charge && (charge.status === "succeeded" || charge.status === "pending") ? charge.amount : 0
  const captured = charge?.captured ? charge.amount_captured : intent.amount_received
  // Refunds of an uncaptured charge are released authorizations, not money sent back.
  const refunds = charge && !charge.captured ? [] : input.refunds
  return {
    payment_id: input.paymentId,
    provider_id: input.providerId,
    payment_intent_id: intent.id,
    dashboard_url: dashboardUrl(intent.id, input.livemode),
    status: intent.status,
    currency,
    amount: money(intent.amount),
    amount_authorized: money(authorized),
    amount_captured: money(captured),
    amount_refunded: money(
      refunds
        .filter((refund) => refund.status === "succeeded" || refund.status === "pending")
        .reduce((total, refund) => total + refund.amount, 0)
    ),
    payment_method: {
      type: details?.type ?? intent.payment_method_types[0] ?? null,
      brand: card?.brand ?? null,
      last4: card?.last4 ?? null,
      wallet: card?.wallet?.type ?? null,
    },
    three_d_secure: card?.three_d_secure
      ? {
          result: card.three_d_secure.result ?? null,
          version: card.three_d_secure.version ?? null,
        }
      : null,
    risk: charge?.outcome
      ? { level: charge.outcome.risk_level ?? null, score: charge.outcome.risk_score ?? null }
      : null,
    disputes: input.disputes.map((dispute) => ({
      id: dispute.id,
      status: dispute.status,
      reason: dispute.reason,
      amount: money(dispute.amount),
    })),
    refunds: refunds.map((refund) => ({
      id: refund.id,
      amount: money(refund.amount),
      status: refund.status,
      reason: refund.reason,
      made_outside_medusa: !isPluginRefund(refund),
    })),
  }
}
