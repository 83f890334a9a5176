import type Stripe from "stripe"
import { StripePluginError } from "./errors"

export interface RecordedRefund {
  id: string
  /** Stripe minor units. */
  amount: number
  status: string | null
}

/**
 * What the plugin keeps in `PaymentSession.data` and `Payment.data`.
 *
 * The storefront receives this object with the cart, so it holds only what it needs to
 * confirm the payment (`client_secret`) and to show its state; never the whole intent.
 * Amounts are in Stripe's minor units.
 */
export type StripeSessionData = {
  id: string
  client_secret: string | null
  status: Stripe.PaymentIntent.Status
  amount: number
  currency: string
  customer: string | null
  capture_method: Stripe.PaymentIntent.CaptureMethod
  /** Set after a declined or failed attempt, so the storefront can tell the shopper why. */
  last_payment_error?: { code: string | null; message: string | null }
  amount_received?: number
  amount_refunded?: number
  refunds?: RecordedRefund[]
  /**
   * The card's brand and last four digits, once Stripe authorized it (the Medusa v1 Next.js
   * starter's order page reads `card_last4`, as the official plugin wrote it).
   */
  card_brand?: string
  card_last4?: string
  /** When the plugin last read the intent from Stripe (epoch ms). */
  synced_at?: number
}

/** The card of the intent's latest charge, when the charge was read with the intent. */
function cardOf(intent: Stripe.PaymentIntent): { brand: string; last4: string } | undefined {
  const charge = intent.latest_charge
  const card = typeof charge === "object" && charge ? charge.payment_method_details?.card : null
  return card?.brand && card.last4 ? { brand: card.brand, last4: card.last4 } : undefined
}

const CARD_SHOWN: ReadonlySet<string> = new Set(["requires_capture", "succeeded"])

function customerId(customer: Stripe.PaymentIntent["customer"]): string | null {
  if (customer === null || customer === undefined) return null
  return typeof customer === "string" ? customer : customer.id
}

/** Projects a PaymentIntent onto session data, keeping bookkeeping from the previous data. */
export function toSessionData(
  intent: Stripe.PaymentIntent,
  previous?: StripeSessionData,
  now: number = Date.now()
): StripeSessionData {
  const data: StripeSessionData = {
    id: intent.id,
    client_secret: intent.client_secret,
    status: intent.status,
    amount: intent.amount,
    currency: intent.currency,
    customer: customerId(intent.customer),
    capture_method: intent.capture_method,
    synced_at: now,
  }
  if (intent.last_payment_error) {
    data.last_payment_error = {
      code: intent.last_payment_error.decline_code ?? intent.last_payment_error.code ?? null,
      message: intent.last_payment_error.message ?? null,
    }
  }
  if (intent.amount_received > 0) {
    data.amount_received = intent.amount_received
  }
  const card = CARD_SHOWN.has(intent.status) ? cardOf(intent) : undefined
  const brand = card?.brand ?? (CARD_SHOWN.has(intent.status) ? previous?.card_brand : undefined)
  const last4 = card?.last4 ?? (CARD_SHOWN.has(intent.status) ? previous?.card_last4 : undefined)
  if (brand && last4) {
    data.card_brand = brand
    data.card_last4 = last4
  }
  if (previous?.refunds) {
    data.refunds = previous.refunds
    data.amount_refunded = previous.amount_refunded
  }
  return data
}

export function withRefund(data: StripeSessionData, refund: Stripe.Refund): StripeSessionData {
  const refunds = [
    ...(data.refunds ?? []),
    { id: refund.id, amount: refund.amount, status: refund.status },
  ]
  return {
    ...data,
    refunds,
    amount_refunded: refunds.reduce((total, entry) => total + entry.amount, 0),
  }
}

/**
 * Reads session data that Medusa hands back. Medusa stores whatever the plugin returned, but
 * a storefront can write to it too, so every field is checked before it is trusted.
 */
export function parseSessionData(data: unknown): StripeSessionData {
  if (typeof data !== "object" || data === null) {
    throw new StripePluginError("invalid_session_data", "Payment session data is missing")
  }
  const record = data as Record<string, unknown>
  if (typeof record.id !== "string" || !/^pi_[A-Za-z0-9_]+$/.test(record.id)) {
    throw new StripePluginError(
      "invalid_session_data",
      "Payment session data holds no Stripe PaymentIntent id (pi_...)"
    )
  }
  if (typeof record.amount !== "number" || typeof record.currency !== "string") {
    throw new StripePluginError(
      "invalid_session_data",
      `Payment session data for ${record.id} has no amount or currency`
    )
  }
  return record as unknown as StripeSessionData
}

/** Fields of the session data a storefront may never set. */
export const PROTECTED_SESSION_FIELDS: readonly string[] = [
  "id",
  "client_secret",
  "status",
  "amount",
  "currency",
  "customer",
  "capture_method",
  "last_payment_error",
  "amount_received",
  "amount_refunded",
  "refunds",
  "card_brand",
  "card_last4",
  "synced_at",
]
