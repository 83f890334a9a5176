import type Stripe from "stripe"

/** Medusa's `PaymentSessionStatus` values, kept here as a union so the mapping stays pure. */
export type SessionStatus = "pending" | "requires_more" | "authorized" | "error" | "canceled"

export type IntentStatus = Stripe.PaymentIntent.Status

export const INTENT_STATUSES: readonly IntentStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "canceled",
]

function assertNever(value: never): never {
  throw new Error(`Unhandled PaymentIntent status ${JSON.stringify(value)}`)
}

/**
 * Maps a PaymentIntent to the status Medusa keeps on the payment session.
 *
 * `requires_payment_method` means "nothing attached yet" on a fresh intent but "declined" once
 * Stripe recorded a `last_payment_error`, so the shopper sees the failure instead of a spinner.
 * Statuses Stripe may add later map to `error`, never to something that lets an order through.
 */
export function toSessionStatus(intent: {
  status: string
  last_payment_error?: unknown
}): SessionStatus {
  const status = intent.status as IntentStatus
  if (!INTENT_STATUSES.includes(status)) {
    return "error"
  }
  switch (status) {
    case "requires_payment_method":
      return intent.last_payment_error ? "error" : "pending"
    case "requires_confirmation":
      return "pending"
    case "requires_action":
      return "requires_more"
    case "processing":
      return "pending"
    case "requires_capture":
    case "succeeded":
      return "authorized"
    case "canceled":
      return "canceled"
    default:
      return assertNever(status)
  }
}

/** Intents whose amount, currency and customer Stripe still lets us change. */
export function isUpdatable(status: string): boolean {
  return (
    status === "requires_payment_method" ||
    status === "requires_confirmation" ||
    status === "requires_action"
  )
}
