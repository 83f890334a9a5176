import type Stripe from "stripe"
import { dashboardUrl, toPaymentDetails } from "../../src/core/payment-details"
import { buildPaymentIntent, buildRefund } from "../support/factories"

const charge = (overrides: Partial<Stripe.Charge> = {}): Stripe.Charge =>
  ({
    id: "ch_1",
    object: "charge",
    amount: 5000,
    amount_captured: 5000,
    captured: true,
    status: "succeeded",
    outcome: { risk_level: "normal", risk_score: 12 },
    payment_method_details: {
      type: "card",
      card: {
        brand: "visa",
        last4: "4242",
        wallet: null,
        three_d_secure: { result: "authenticated", version: "2.2.0" },
      },
    },
    ...overrides,
  }) as Stripe.Charge

const details = (intent: Stripe.PaymentIntent, refunds: Stripe.Refund[] = []) =>
  toPaymentDetails({
    paymentId: "pay_1",
    providerId: "stripe",
    intent,
    refunds,
    disputes: [],
    livemode: false,
  })

describe("dashboardUrl", () => {
  it("links to test mode for test keys", () => {
    expect(dashboardUrl("pi_1", false)).toBe("https://dashboard.stripe.com/test/payments/pi_1")
  })

  it("links to live mode for live keys", () => {
    expect(dashboardUrl("pi_1", true)).toBe("https://dashboard.stripe.com/payments/pi_1")
  })
})

describe("toPaymentDetails", () => {
  it("shows a captured card payment with its card, 3-D Secure outcome and risk", () => {
    const intent = buildPaymentIntent({
      status: "succeeded",
      amount: 5000,
      amount_received: 5000,
      latest_charge: charge(),
    })
    expect(details(intent)).toMatchObject({
      amount_authorized: 5000,
      amount_captured: 5000,
      amount_refunded: 0,
      payment_method: { type: "card", brand: "visa", last4: "4242", wallet: null },
      three_d_secure: { result: "authenticated", version: "2.2.0" },
      risk: { level: "normal", score: 12 },
    })
  })

  it("tells refunds made outside Medusa from the plugin's own", () => {
    const intent = buildPaymentIntent({ status: "succeeded", latest_charge: charge() })
    const view = details(intent, [
      buildRefund({ id: "re_admin", amount: 300, metadata: { medusa_refund_origin: "medusa" } }),
      buildRefund({ id: "re_dashboard", amount: 200 }),
    ])
    expect(view.amount_refunded).toBe(500)
    expect(view.refunds.map((refund) => [refund.id, refund.made_outside_medusa])).toEqual([
      ["re_admin", false],
      ["re_dashboard", true],
    ])
  })

  it("does not count a released authorization as a refund", () => {
    const intent = buildPaymentIntent({
      status: "canceled",
      latest_charge: charge({ captured: false, amount_captured: 0 }),
    })
    const view = details(intent, [buildRefund({ amount: 5000 })])
    expect(view.amount_refunded).toBe(0)
    expect(view.refunds).toEqual([])
  })

  it("shows an authorized payment as authorized, not captured", () => {
    const intent = buildPaymentIntent({
      status: "requires_capture",
      latest_charge: charge({ captured: false, amount_captured: 0 }),
    })
    expect(details(intent)).toMatchObject({ amount_authorized: 5000, amount_captured: 0 })
  })

  it("converts amounts back to Medusa's unit", () => {
    const intent = buildPaymentIntent({
      currency: "isk",
      amount: 50000,
      status: "requires_payment_method",
    })
    expect(details(intent).amount).toBe(500)
  })
})
