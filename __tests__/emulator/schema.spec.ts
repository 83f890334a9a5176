import type Stripe from "stripe"
import {
  validateComponent,
  validateOperationResponse,
  type StripeEmulator,
} from "../../src/emulator"
import { rawRequest, startEmulator, stripeError, stripeFor, API_KEY } from "./helpers"

let emu: StripeEmulator
let stripe: Stripe

beforeAll(async () => {
  emu = await startEmulator()
  stripe = stripeFor(emu)
})

afterAll(() => emu.stop())

/** What went over the wire, without the SDK's additions. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

function expectValid(kind: string, value: unknown): void {
  const check = validateComponent(kind, plain(value))
  if (!check.valid) {
    throw new Error(
      `${kind} ${JSON.stringify(plain(value)).slice(0, 200)}...\n${check.errors.join("\n")}`
    )
  }
}

function expectValidResponse(
  method: "GET" | "POST" | "DELETE",
  path: string,
  value: unknown
): void {
  const check = validateOperationResponse(method, path, plain(value))
  if (!check.valid) throw new Error(`${method} ${path}\n${check.errors.join("\n")}`)
}

async function intentWith(
  params: Partial<Stripe.PaymentIntentCreateParams>,
  confirm?: Stripe.PaymentIntentConfirmParams
): Promise<Stripe.PaymentIntent> {
  const intent = await stripe.paymentIntents.create({
    amount: 2000,
    currency: "eur",
    payment_method_types: ["card"],
    ...params,
  })
  if (!confirm) return intent
  try {
    return await stripe.paymentIntents.confirm(intent.id, confirm)
  } catch {
    return stripe.paymentIntents.retrieve(intent.id)
  }
}

describe("Responses against Stripe's OpenAPI schema (2024-04-10)", () => {
  it("validates every object kind the emulator serves", async () => {
    const customer = await stripe.customers.create({
      email: "schema@example.com",
      name: "Schema",
      address: { line1: "Main St 1", city: "Amsterdam", country: "NL" },
      metadata: { a: "b" },
    })
    const saved = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id })
    const intents: Stripe.PaymentIntent[] = [
      await intentWith({}),
      await stripe.paymentIntents.create({ amount: 2000, currency: "eur" }),
      await intentWith({ capture_method: "manual" }, { payment_method: "pm_card_visa" }),
      await intentWith({}, { payment_method: "pm_card_visa" }),
      await intentWith({}, { payment_method: "pm_card_chargeDeclined" }),
      await intentWith({}, { payment_method: "pm_card_riskLevelHighest" }),
      await intentWith({}, { payment_method: "pm_card_threeDSecure2Required" }),
      await intentWith(
        {},
        { payment_method: "pm_card_authenticationRequired", return_url: "https://x.example" }
      ),
      await intentWith(
        { payment_method_types: ["blik"], currency: "pln" },
        { payment_method: "pm_blik" }
      ),
      await intentWith(
        { payment_method_types: ["sepa_debit"] },
        { payment_method: "pm_sepa_debit" }
      ),
      await intentWith({ customer: customer.id, payment_method: saved.id, confirm: true }),
    ]
    for (const [type, method, currency] of [
      ["ideal", "pm_ideal", "eur"],
      ["bancontact", "pm_bancontact", "eur"],
      ["p24", "pm_p24", "pln"],
      ["klarna", "pm_klarna", "eur"],
      ["giropay", "pm_giropay", "eur"],
    ]) {
      const intent = await intentWith(
        { payment_method_types: [type], currency },
        { payment_method: method }
      )
      intents.push(intent, (await emu.completeAction(intent.id)) as Stripe.PaymentIntent)
    }
    const threeDS = await intentWith(
      { capture_method: "manual" },
      { payment_method: "pm_card_threeDSecure2Required" }
    )
    intents.push((await emu.completeAction(threeDS.id)) as Stripe.PaymentIntent)
    const failed = await intentWith({}, { payment_method: "pm_card_authenticationRequired" })
    intents.push((await emu.failAction(failed.id)) as Stripe.PaymentIntent)
    const sepaFailed = await intentWith(
      { payment_method_types: ["sepa_debit"] },
      { payment_method: "pm_sepa_debit" }
    )
    intents.push(await emu.settleProcessing(sepaFailed.id, { succeed: false }))
    const toCapture = await intentWith(
      { capture_method: "manual" },
      { payment_method: "pm_card_visa" }
    )
    intents.push(await stripe.paymentIntents.capture(toCapture.id, { amount_to_capture: 1000 }))
    const toCancel = await intentWith(
      { capture_method: "manual" },
      { payment_method: "pm_card_visa" }
    )
    intents.push(
      await stripe.paymentIntents.cancel(toCancel.id, { cancellation_reason: "abandoned" })
    )
    intents.push(
      await stripe.paymentIntents.retrieve(toCapture.id, {
        expand: ["latest_charge", "payment_method", "customer"],
      })
    )
    for (const intent of intents) expectValid("payment_intent", intent)

    const paid = await intentWith({}, { payment_method: "pm_card_visa" })
    const refunds = [
      await stripe.refunds.create({ payment_intent: paid.id, amount: 500, metadata: { k: "v" } }),
      await emu.refundFromDashboard(paid.id, 500),
    ]
    emu.failNextRefund("failed")
    refunds.push(await stripe.refunds.create({ payment_intent: paid.id, amount: 100 }))
    const idealPaid = emu
      .paymentIntents()
      .find((i) => i.payment_method_types[0] === "ideal" && i.status === "succeeded")
    refunds.push(await stripe.refunds.create({ payment_intent: String(idealPaid?.id) }))
    for (const refund of refunds) expectValid("refund", refund)

    const charges = emu.charges()
    expect(new Set(charges.map((charge) => charge.status))).toEqual(
      new Set(["succeeded", "failed", "pending"])
    )
    for (const charge of charges) expectValid("charge", charge)
    expectValid(
      "charge",
      await stripe.charges.retrieve(String(paid.latest_charge), { expand: ["refunds"] })
    )

    const dispute = await emu.createDispute(paid.id)
    expectValid("dispute", dispute)
    expectValid("dispute", await stripe.disputes.retrieve(dispute.id))
    expectValid(
      "balance_transaction",
      await stripe.balanceTransactions.retrieve(
        String((await stripe.charges.retrieve(String(paid.latest_charge))).balance_transaction)
      )
    )

    expectValid("customer", await stripe.customers.retrieve(customer.id))
    expectValid("customer", await stripe.customers.update(customer.id, { phone: "+31000" }))
    const doomed = await stripe.customers.create({})
    const deleted = await stripe.customers.del(doomed.id)
    expectValid("deleted_customer", deleted)
    expectValidResponse("DELETE", "/v1/customers/{customer}", deleted)

    const methods: Stripe.PaymentMethod[] = [
      await stripe.paymentMethods.retrieve("pm_card_visa"),
      await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } }),
      await stripe.paymentMethods.create({ type: "ideal", ideal: { bank: "ing" } }),
      await stripe.paymentMethods.create({
        type: "sepa_debit",
        sepa_debit: { iban: "DE89370400440532013000" },
      }),
      saved,
      ...emu.paymentMethods(),
    ]
    for (const method of methods) expectValid("payment_method", method)

    const setup = await stripe.setupIntents.create({
      customer: customer.id,
      payment_method_types: ["card"],
    })
    const setups = [
      setup,
      await stripe.setupIntents.confirm(setup.id, { payment_method: "pm_card_visa" }),
      await stripe.setupIntents.create({
        payment_method: "pm_card_authenticationRequired",
        confirm: true,
      }),
      await stripe.setupIntents.cancel((await stripe.setupIntents.create({})).id),
    ]
    const declinedSetup = await stripe.setupIntents.create({})
    await stripeError(() =>
      stripe.setupIntents.confirm(declinedSetup.id, { payment_method: "pm_card_chargeDeclined" })
    )
    setups.push(await stripe.setupIntents.retrieve(declinedSetup.id))
    for (const intent of setups) expectValid("setup_intent", intent)

    const created = await stripe.webhookEndpoints.create({
      url: "http://127.0.0.1:9/hooks",
      enabled_events: ["*"],
    })
    expectValid("webhook_endpoint", created)
    expectValid("webhook_endpoint", await stripe.webhookEndpoints.retrieve(created.id))

    const events = emu.events()
    expect(events.length).toBeGreaterThan(50)
    for (const event of events) expectValid("event", event)
    expectValid("event", await stripe.events.retrieve(events[0].id))

    expectValidResponse(
      "GET",
      "/v1/payment_intents",
      await stripe.paymentIntents.list({ limit: 100 })
    )
    expectValidResponse(
      "GET",
      "/v1/payment_intents/search",
      await stripe.paymentIntents.search({ query: "status:'succeeded'" })
    )
    expectValidResponse("GET", "/v1/charges", await stripe.charges.list({ limit: 100 }))
    expectValidResponse("GET", "/v1/refunds", await stripe.refunds.list({ limit: 100 }))
    expectValidResponse("GET", "/v1/customers", await stripe.customers.list())
    expectValidResponse(
      "GET",
      "/v1/customers/search",
      await stripe.customers.search({ query: "email:'schema@example.com'" })
    )
    expectValidResponse(
      "GET",
      "/v1/payment_methods",
      await stripe.paymentMethods.list({ customer: customer.id })
    )
    expectValidResponse("GET", "/v1/events", await stripe.events.list({ limit: 100 }))
    expectValidResponse("GET", "/v1/setup_intents", await stripe.setupIntents.list())
    expectValidResponse("GET", "/v1/webhook_endpoints", await stripe.webhookEndpoints.list())
    expectValidResponse("GET", "/v1/disputes", await stripe.disputes.list())

    for (const path of ["/v1/payment_intents/pi_missing", "/v1/nowhere"]) {
      const response = await rawRequest(emu, "GET", path, {
        headers: { Authorization: `Bearer ${API_KEY}` },
      })
      expectValid("error", response.body)
    }
    const decline = await rawRequest(emu, "POST", `/v1/payment_intents/${intents[0].id}/confirm`, {
      headers: { Authorization: `Bearer ${API_KEY}` },
      body: "payment_method=pm_card_chargeDeclined",
    })
    expect(decline.status).toBe(402)
    expectValid("error", decline.body)
  }, 30_000)
})
