import type Stripe from "stripe"
import { parseSessionData, toSessionData, withRefund } from "../../src/core/session-data"
import { buildPaymentIntent, buildRefund } from "../support/factories"

describe("toSessionData", () => {
  it("keeps only what the storefront and the plugin need", () => {
    const intent = buildPaymentIntent({ status: "requires_payment_method" })
    expect(Object.keys(toSessionData(intent, undefined, 1)).sort()).toEqual(
      [
        "amount",
        "capture_method",
        "client_secret",
        "currency",
        "customer",
        "id",
        "status",
        "synced_at",
      ].sort()
    )
  })

  it("records the decline so the storefront can show it", () => {
    const intent = buildPaymentIntent({
      status: "requires_payment_method",
      last_payment_error: {
        type: "card_error",
        code: "card_declined",
        decline_code: "insufficient_funds",
        message: "Your card has insufficient funds.",
      } as Stripe.PaymentIntent.LastPaymentError,
    })
    expect(toSessionData(intent).last_payment_error).toEqual({
      code: "insufficient_funds",
      message: "Your card has insufficient funds.",
    })
  })

  it("carries recorded refunds over from the previous data", () => {
    const intent = buildPaymentIntent({ status: "succeeded", amount_received: 1000 })
    const before = withRefund(toSessionData(intent), buildRefund({ amount: 300 }))
    const after = toSessionData(intent, before)
    expect(after.amount_refunded).toBe(300)
    expect(after.refunds).toHaveLength(1)
  })
})

describe("withRefund", () => {
  it("adds up every refund", () => {
    const data = toSessionData(buildPaymentIntent({ status: "succeeded", amount_received: 1000 }))
    const once = withRefund(data, buildRefund({ id: "re_1", amount: 300 }))
    const twice = withRefund(once, buildRefund({ id: "re_2", amount: 200 }))
    expect(twice.amount_refunded).toBe(500)
    expect(twice.refunds?.map((refund) => refund.id)).toEqual(["re_1", "re_2"])
  })
})

describe("parseSessionData", () => {
  it("accepts data the plugin produced", () => {
    const data = toSessionData(buildPaymentIntent())
    expect(parseSessionData({ ...data })).toEqual(data)
  })

  it.each([
    ["nothing", undefined, /missing/],
    ["an empty object", {}, /no Stripe PaymentIntent id/],
    ["Medusa's own session id", { id: "ps_01H" }, /no Stripe PaymentIntent id/],
    ["an id with odd characters", { id: "pi_1'; drop" }, /no Stripe PaymentIntent id/],
    ["no amount", { id: "pi_1", currency: "eur" }, /no amount or currency/],
  ])("refuses %s", (_name, data, message) => {
    expect(() => parseSessionData(data)).toThrow(message)
  })
})
