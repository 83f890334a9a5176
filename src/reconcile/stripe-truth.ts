import type Stripe from "stripe"
import { HELD_FUNDS_EXPAND } from "../core/held-funds"

/** What Stripe knows about one PaymentIntent's money, read fresh. */
export interface StripeTruth {
  /** With `latest_charge` expanded. */
  intent: Stripe.PaymentIntent
  charge: Stripe.Charge | null
  refunds: Stripe.Refund[]
  disputes: Stripe.Dispute[]
}

/**
 * Reads the intent, its latest charge, its refunds and its disputes. An event only says which
 * intent to look at: it is a snapshot that may be stale, duplicated or out of order.
 */
export async function readStripeTruth(stripe: Stripe, intentId: string): Promise<StripeTruth> {
  const intent = await stripe.paymentIntents.retrieve(intentId, { expand: HELD_FUNDS_EXPAND })
  const charge =
    typeof intent.latest_charge === "object" && intent.latest_charge ? intent.latest_charge : null
  if (!charge) {
    return { intent, charge: null, refunds: [], disputes: [] }
  }
  const refunds: Stripe.Refund[] = []
  for await (const refund of stripe.refunds.list({ payment_intent: intentId, limit: 100 })) {
    refunds.push(refund)
  }
  const disputes: Stripe.Dispute[] = []
  if (charge.disputed) {
    for await (const dispute of stripe.disputes.list({ payment_intent: intentId, limit: 100 })) {
      disputes.push(dispute)
    }
  }
  return { intent, charge, refunds, disputes }
}
