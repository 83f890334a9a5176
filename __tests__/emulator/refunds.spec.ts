import type Stripe from "stripe"
import type { StripeEmulator } from "../../src/emulator"
import { startEmulator, stripeError, stripeFor } from "./helpers"

let emu: StripeEmulator
let stripe: Stripe

beforeAll(async () => {
  emu = await startEmulator()
  stripe = stripeFor(emu)
})

afterAll(() => emu.stop())

const paidIntent = (
  amount = 5000,
  params: Partial<Stripe.PaymentIntentCreateParams> = {}
): Promise<Stripe.PaymentIntent> =>
  stripe.paymentIntents.create({
    amount,
    currency: "eur",
    payment_method_types: ["card"],
    payment_method: "pm_card_visa",
    confirm: true,
    ...params,
  })

describe("Refunds", () => {
  it("refunds the whole charge by payment_intent", async () => {
    const intent = await paidIntent()
    const refund = await stripe.refunds.create({
      payment_intent: intent.id,
      reason: "requested_by_customer",
      metadata: { origin: "plugin" },
    })
    expect(refund).toMatchObject({
      object: "refund",
      amount: 5000,
      currency: "eur",
      status: "succeeded",
      payment_intent: intent.id,
      charge: intent.latest_charge,
      reason: "requested_by_customer",
      metadata: { origin: "plugin" },
    })
    const charge = await stripe.charges.retrieve(String(intent.latest_charge), {
      expand: ["refunds"],
    })
    expect(charge).toMatchObject({ amount_refunded: 5000, refunded: true })
    expect(charge.refunds?.data.map((r) => r.id)).toEqual([refund.id])
    const types = emu.events().map((event) => event.type)
    expect(types).toEqual(expect.arrayContaining(["charge.refunded", "refund.created"]))
  })

  it("refunds part of a charge by charge id, then the rest", async () => {
    const intent = await paidIntent()
    const first = await stripe.refunds.create({
      charge: String(intent.latest_charge),
      amount: 2000,
    })
    expect(first.amount).toBe(2000)
    let charge = await stripe.charges.retrieve(String(intent.latest_charge))
    expect(charge).toMatchObject({ amount_refunded: 2000, refunded: false })
    const rest = await stripe.refunds.create({ payment_intent: intent.id })
    expect(rest.amount).toBe(3000)
    charge = await stripe.charges.retrieve(String(intent.latest_charge))
    expect(charge).toMatchObject({ amount_refunded: 5000, refunded: true })
  })

  it("refuses a refund larger than what is left, in Stripe's words", async () => {
    const intent = await paidIntent()
    await stripe.refunds.create({ payment_intent: intent.id, amount: 4000 })
    const error = await stripeError(() =>
      stripe.refunds.create({ payment_intent: intent.id, amount: 1500 })
    )
    expect(error).toMatchObject({
      statusCode: 400,
      code: "amount_too_large",
      param: "amount",
      message: "Refund amount (€15.00) is greater than unrefunded amount on charge (€10.00)",
    })
  })

  it("refuses to refund a charge that is fully refunded with charge_already_refunded", async () => {
    const intent = await paidIntent()
    await stripe.refunds.create({ payment_intent: intent.id })
    const error = await stripeError(() => stripe.refunds.create({ payment_intent: intent.id }))
    expect(error).toMatchObject({ statusCode: 400, code: "charge_already_refunded" })
  })

  it("refuses to refund an uncaptured intent: cancel it instead", async () => {
    const intent = await paidIntent(5000, { capture_method: "manual" })
    const error = await stripeError(() => stripe.refunds.create({ payment_intent: intent.id }))
    expect(error).toMatchObject({ statusCode: 400, code: "charge_not_refundable" })
    expect(error.message).toContain("cancel the PaymentIntent")
  })

  it("refuses to refund an intent that never paid", async () => {
    const intent = await stripe.paymentIntents.create({ amount: 1000, currency: "eur" })
    const error = await stripeError(() => stripe.refunds.create({ payment_intent: intent.id }))
    expect(error.code).toBe("charge_not_refundable")
  })

  it("limits refunds of a partial capture to the captured amount", async () => {
    const intent = await paidIntent(5000, { capture_method: "manual" })
    await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 3000 })
    const error = await stripeError(() =>
      stripe.refunds.create({ payment_intent: intent.id, amount: 3001 })
    )
    expect(error.code).toBe("amount_too_large")
    expect((await stripe.refunds.create({ payment_intent: intent.id })).amount).toBe(3000)
  })

  it("fails the next refund with balance_insufficient when told to", async () => {
    const intent = await paidIntent()
    emu.failNextRefund()
    const error = await stripeError(() => stripe.refunds.create({ payment_intent: intent.id }))
    expect(error).toMatchObject({ statusCode: 400, code: "balance_insufficient" })
    expect((await stripe.refunds.create({ payment_intent: intent.id })).status).toBe("succeeded")
  })

  it("can instead create the next refund in status failed", async () => {
    const intent = await paidIntent()
    emu.failNextRefund("failed")
    const refund = await stripe.refunds.create({ payment_intent: intent.id })
    expect(refund).toMatchObject({ status: "failed", failure_reason: "insufficient_funds" })
    const charge = await stripe.charges.retrieve(String(intent.latest_charge))
    expect(charge.amount_refunded).toBe(0)
  })

  it("lists refunds by payment_intent and retrieves them", async () => {
    const intent = await paidIntent()
    const a = await stripe.refunds.create({ payment_intent: intent.id, amount: 100 })
    const b = await stripe.refunds.create({ payment_intent: intent.id, amount: 200 })
    const list = await stripe.refunds.list({ payment_intent: intent.id })
    expect(list.data.map((refund) => refund.id)).toEqual([b.id, a.id])
    expect((await stripe.refunds.retrieve(a.id)).amount).toBe(100)
    const missing = await stripeError(() => stripe.refunds.retrieve("re_missing"))
    expect(missing).toMatchObject({ statusCode: 404, message: "No such refund: 're_missing'" })
  })

  it("records a Dashboard refund without metadata and with an event", async () => {
    const intent = await paidIntent()
    const refund = await emu.refundFromDashboard(intent.id, 1200)
    expect(refund).toMatchObject({ amount: 1200, metadata: {}, status: "succeeded" })
    const event = emu.events("charge.refunded").pop()
    expect(event?.request).toEqual({ id: null, idempotency_key: null })
    expect((event?.data.object as Stripe.Charge).amount_refunded).toBe(1200)
  })
})

describe("Disputes", () => {
  it("opens a dispute on an intent's charge and emits charge.dispute.created", async () => {
    const intent = await paidIntent()
    const dispute = await emu.createDispute(intent.id)
    expect(dispute).toMatchObject({
      object: "dispute",
      amount: 5000,
      charge: intent.latest_charge,
      payment_intent: intent.id,
      status: "needs_response",
      reason: "fraudulent",
    })
    expect(await stripe.disputes.retrieve(dispute.id)).toMatchObject({ id: dispute.id })
    expect((await stripe.charges.retrieve(String(intent.latest_charge))).disputed).toBe(true)
    const event = emu.events("charge.dispute.created").pop()
    expect((event?.data.object as Stripe.Dispute).id).toBe(dispute.id)
    const refund = await stripeError(() => stripe.refunds.create({ payment_intent: intent.id }))
    expect(refund.code).toBe("charge_disputed")
  })

  it("disputes payments made with pm_card_createDispute by itself", async () => {
    const intent = await paidIntent(5000, { payment_method: "pm_card_createDispute" })
    expect(emu.disputes().some((dispute) => dispute.payment_intent === intent.id)).toBe(true)
  })

  it("refuses to dispute an uncaptured payment", async () => {
    const intent = await paidIntent(5000, { capture_method: "manual" })
    await expect(emu.createDispute(intent.id)).rejects.toThrow(/cannot be disputed/)
  })
})
