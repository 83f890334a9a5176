import type Stripe from "stripe"

let sequence = 0
const nextId = (prefix: string): string =>
  `${prefix}_test${(++sequence).toString().padStart(6, "0")}`

/** A PaymentIntent shaped as Stripe returns it, with the fields a test cares about overridden. */
export function buildPaymentIntent(
  overrides: Partial<Stripe.PaymentIntent> = {}
): Stripe.PaymentIntent {
  const id = overrides.id ?? nextId("pi")
  return {
    id,
    object: "payment_intent",
    amount: 1000,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "manual",
    client_secret: `${id}_secret_abc`,
    confirmation_method: "automatic",
    created: 1_700_000_000,
    currency: "eur",
    customer: null,
    description: null,
    invoice: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: null,
    payment_method_types: ["card"],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: "requires_payment_method",
    transfer_data: null,
    transfer_group: null,
    ...overrides,
  }
}

export function buildRefund(overrides: Partial<Stripe.Refund> = {}): Stripe.Refund {
  return {
    id: overrides.id ?? nextId("re"),
    object: "refund",
    amount: 100,
    balance_transaction: null,
    charge: null,
    created: 1_700_000_000,
    currency: "eur",
    metadata: {},
    payment_intent: null,
    reason: null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
    ...overrides,
  }
}
