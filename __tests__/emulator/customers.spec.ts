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

describe("Customers", () => {
  it("creates, retrieves and updates a customer", async () => {
    const created = await stripe.customers.create({
      email: "ada@example.com",
      name: "Ada Lovelace",
      metadata: { medusa_customer_id: "cus_medusa_1" },
    })
    expect(created).toMatchObject({
      object: "customer",
      email: "ada@example.com",
      name: "Ada Lovelace",
      metadata: { medusa_customer_id: "cus_medusa_1" },
    })
    expect(created.id).toMatch(/^cus_[A-Za-z0-9]{14}$/)
    const updated = await stripe.customers.update(created.id, { phone: "+3100000000", name: "" })
    expect(updated).toMatchObject({ phone: "+3100000000", name: null })
    expect(await stripe.customers.retrieve(created.id)).toMatchObject({ phone: "+3100000000" })
    const types = emu.events().map((event) => event.type)
    expect(types).toEqual(expect.arrayContaining(["customer.created", "customer.updated"]))
  })

  it("lists customers by email", async () => {
    const a = await stripe.customers.create({ email: "same@example.com" })
    const b = await stripe.customers.create({ email: "same@example.com" })
    await stripe.customers.create({ email: "other@example.com" })
    const list = await stripe.customers.list({ email: "same@example.com" })
    expect(list.data.map((customer) => customer.id)).toEqual([b.id, a.id])
  })

  it("searches customers by email", async () => {
    const customer = await stripe.customers.create({ email: "Search.Me@example.com" })
    const result = await stripe.customers.search({ query: "email:'search.me@example.com'" })
    expect(result.data.map((found) => found.id)).toEqual([customer.id])
  })

  it("deletes a customer, which then reads as deleted", async () => {
    const customer = await stripe.customers.create({ email: "gone@example.com" })
    const deleted = await stripe.customers.del(customer.id)
    expect(deleted).toEqual({ id: customer.id, object: "customer", deleted: true })
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ deleted: true })
    const error = await stripeError(() =>
      stripe.paymentIntents.create({ amount: 1000, currency: "eur", customer: customer.id })
    )
    expect(error.code).toBe("resource_missing")
  })

  it("answers 404 for an unknown customer", async () => {
    const error = await stripeError(() => stripe.customers.retrieve("cus_nope"))
    expect(error).toMatchObject({ statusCode: 404, message: "No such customer: 'cus_nope'" })
  })
})

describe("PaymentMethods", () => {
  it("creates a card from a test token", async () => {
    const method = await stripe.paymentMethods.create({
      type: "card",
      card: { token: "tok_mastercard" },
      billing_details: { name: "Ada" },
    })
    expect(method).toMatchObject({
      type: "card",
      card: { brand: "mastercard", last4: "4444" },
      billing_details: { name: "Ada" },
      customer: null,
    })
  })

  it("keeps the behaviour of the test card a token stands for", async () => {
    const method = await stripe.paymentMethods.create({
      type: "card",
      card: { token: "tok_chargeDeclined" },
    })
    const error = await stripeError(() =>
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "eur",
        payment_method_types: ["card"],
        payment_method: method.id,
        confirm: true,
      })
    )
    expect(error.code).toBe("card_declined")
  })

  it("creates local payment methods by type", async () => {
    const ideal = await stripe.paymentMethods.create({ type: "ideal", ideal: { bank: "rabobank" } })
    expect(ideal).toMatchObject({ type: "ideal", ideal: { bank: "rabobank" } })
    const sepa = await stripe.paymentMethods.create({
      type: "sepa_debit",
      sepa_debit: { iban: "DE89370400440532013000" },
      billing_details: { name: "Ada", email: "ada@example.com" },
    })
    expect(sepa.sepa_debit?.last4).toBe("3000")
  })

  it("refuses an unknown token", async () => {
    const error = await stripeError(() =>
      stripe.paymentMethods.create({ type: "card", card: { token: "tok_unknown_thing" } })
    )
    expect(error).toMatchObject({ statusCode: 404, code: "resource_missing" })
  })

  it("attaches a test id as a new PaymentMethod of the customer, and detaches it", async () => {
    const customer = await stripe.customers.create({ email: "pm@example.com" })
    const attached = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id })
    expect(attached.id).not.toBe("pm_card_visa")
    expect(attached.customer).toBe(customer.id)
    const listed = await stripe.paymentMethods.list({ customer: customer.id, type: "card" })
    expect(listed.data.map((method) => method.id)).toEqual([attached.id])
    const viaCustomer = await stripe.customers.listPaymentMethods(customer.id)
    expect(viaCustomer.data).toHaveLength(1)
    const again = await stripeError(() =>
      stripe.paymentMethods.attach(attached.id, { customer: customer.id })
    )
    expect(again.statusCode).toBe(400)
    const detached = await stripe.paymentMethods.detach(attached.id)
    expect(detached.customer).toBeNull()
    const twice = await stripeError(() => stripe.paymentMethods.detach(attached.id))
    expect(twice.statusCode).toBe(400)
  })

  it("refuses a customer's PaymentMethod on another customer's intent", async () => {
    const owner = await stripe.customers.create({ email: "owner@example.com" })
    const other = await stripe.customers.create({ email: "other@example.com" })
    const method = await stripe.paymentMethods.attach("pm_card_visa", { customer: owner.id })
    const error = await stripeError(() =>
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "eur",
        customer: other.id,
        payment_method: method.id,
      })
    )
    expect(error.param).toBe("payment_method")
  })
})

describe("SetupIntents", () => {
  it("saves a card for a customer", async () => {
    const customer = await stripe.customers.create({ email: "setup@example.com" })
    const intent = await stripe.setupIntents.create({
      customer: customer.id,
      payment_method_types: ["card"],
    })
    expect(intent).toMatchObject({
      object: "setup_intent",
      status: "requires_payment_method",
      usage: "off_session",
    })
    const confirmed = await stripe.setupIntents.confirm(intent.id, {
      payment_method: "pm_card_visa",
    })
    expect(confirmed.status).toBe("succeeded")
    const method = await stripe.paymentMethods.retrieve(String(confirmed.payment_method))
    expect(method.customer).toBe(customer.id)
    expect(emu.events("setup_intent.succeeded")).toHaveLength(1)
    expect((await stripe.setupIntents.retrieve(intent.id)).status).toBe("succeeded")
  })

  it("declines a declining card with a 402", async () => {
    const intent = await stripe.setupIntents.create({ payment_method_types: ["card"] })
    const error = await stripeError(() =>
      stripe.setupIntents.confirm(intent.id, { payment_method: "pm_card_chargeDeclined" })
    )
    expect(error).toMatchObject({ statusCode: 402, code: "card_declined" })
    expect((await stripe.setupIntents.retrieve(intent.id)).status).toBe("requires_payment_method")
  })

  it("asks for authentication and completes it", async () => {
    const intent = await stripe.setupIntents.create({
      payment_method_types: ["card"],
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
    })
    expect(intent.status).toBe("requires_action")
    expect((await emu.completeAction(intent.id)).status).toBe("succeeded")
  })

  it("cancels", async () => {
    const intent = await stripe.setupIntents.create({})
    expect((await stripe.setupIntents.cancel(intent.id)).status).toBe("canceled")
    const error = await stripeError(() => stripe.setupIntents.cancel(intent.id))
    expect(error.code).toBe("setup_intent_unexpected_state")
  })
})
