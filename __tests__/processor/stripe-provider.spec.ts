import { PaymentSessionStatus, type PaymentProcessorContext } from "@medusajs/medusa"
import { StripeEmulator } from "../../src/emulator"
import StripeProviderService from "../../src/services/stripe-provider"
import type { StripeSessionData } from "../../src/core/session-data"
import {
  buildContext,
  buildCustomer,
  buildProcessor,
  failure,
  newCartId,
  unwrap,
  type FakeCart,
} from "../support/processor"

describe("StripeProviderService", () => {
  let emulator: StripeEmulator
  let processor: StripeProviderService
  const carts = new Map<string, FakeCart>()

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    processor = buildProcessor(StripeProviderService, emulator, {}, carts)
  })

  afterAll(async () => {
    await emulator.stop()
  })

  beforeEach(() => {
    emulator.reset()
    emulator.faults.clear()
    emulator.resetCounters()
  })

  const initiate = async (overrides: Parameters<typeof buildContext>[0] = {}) => {
    const context = buildContext(overrides)
    carts.set(context.resource_id, { total: context.amount, currency: context.currency_code })
    const response = unwrap(await processor.initiatePayment(context))
    return { context, data: response.session_data as StripeSessionData, response }
  }

  const stripeCalls = (): number =>
    Object.entries(emulator.counters())
      .filter(([route]) => route.includes("/v1/"))
      .reduce((total, [, count]) => total + count, 0)

  describe("getIdentifier", () => {
    it("is stripe, as in the official plugin", () => {
      expect(processor.getIdentifier()).toBe("stripe")
    })
  })

  describe("initiatePayment", () => {
    it("creates one PaymentIntent for the cart with manual capture by default", async () => {
      const { context, data } = await initiate({ amount: 2500, currency_code: "EUR" })
      const [intent] = emulator.paymentIntents()
      expect(emulator.paymentIntents()).toHaveLength(1)
      expect(intent).toMatchObject({
        id: data.id,
        amount: 2500,
        currency: "eur",
        capture_method: "manual",
        payment_method_types: ["card"],
        metadata: { resource_id: context.resource_id, cart_id: context.resource_id },
      })
    })

    it("returns only what the storefront needs in the session data", async () => {
      const { data } = await initiate()
      expect(Object.keys(data).sort()).toEqual(
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
      expect(data.client_secret).toMatch(/^pi_.+_secret_/)
      expect(JSON.stringify(data)).not.toContain("sk_test")
    })

    it("gives every new session its own intent, even with equal parameters", async () => {
      const context = buildContext()
      const first = unwrap(await processor.initiatePayment(context))
      const second = unwrap(await processor.initiatePayment({ ...context }))
      expect(second.session_data.id).not.toBe(first.session_data.id)
      expect(emulator.paymentIntents()).toHaveLength(2)
    })

    it("makes one intent when Stripe's answer is lost and the SDK retries", async () => {
      emulator.faults.failNext(1, { route: "POST /v1/payment_intents", kind: "500", when: "after" })
      const { data } = await initiate()
      expect(emulator.paymentIntents().map((intent) => intent.id)).toEqual([data.id])
    })

    describe("for a payment collection", () => {
      let sequence = 0
      const collectionContext = () => buildContext({ resource_id: `paycol_${(sequence += 1)}` })

      it("gives two sessions of equal amounts two intents", async () => {
        const context = collectionContext()
        const first = unwrap(await processor.initiatePayment(context))
        const second = unwrap(await processor.initiatePayment({ ...context }))
        expect(second.session_data.id).not.toBe(first.session_data.id)
        for (const created of [first, second]) {
          expect(emulator.paymentIntent(created.session_data.id as string)).toMatchObject({
            status: "requires_payment_method",
            amount: context.amount,
            metadata: expect.objectContaining({ resource_id: context.resource_id }),
          })
        }
      })

      it("needs no email: the collection's order exists already", async () => {
        const context = { ...collectionContext(), email: "" }
        const created = unwrap(await processor.initiatePayment(context))
        expect(emulator.paymentIntent(created.session_data.id as string)?.metadata).toMatchObject({
          resource_id: context.resource_id,
        })
      })
    })

    it("sends zero-decimal amounts unchanged", async () => {
      await initiate({ amount: 5000, currency_code: "jpy" })
      expect(emulator.paymentIntents()[0]).toMatchObject({ amount: 5000, currency: "jpy" })
    })

    it("charges three-decimal amounts that card networks can settle unchanged", async () => {
      await initiate({ amount: 5550, currency_code: "kwd" })
      expect(emulator.paymentIntents()[0]).toMatchObject({ amount: 5550, currency: "kwd" })
    })

    it("refuses a three-decimal amount it could only charge rounded, never charging more", async () => {
      const error = failure(
        await processor.initiatePayment(buildContext({ amount: 1235, currency_code: "kwd" }))
      )
      expect(error.code).toBe("amount_not_representable")
      expect(error.error).toContain("1.235 KWD cannot be charged")
      expect(error.error).toContain("steps of 0.010 KWD")
      expect(stripeCalls()).toBe(0)
    })

    it("charges an IDR cart of Rp 1,000,000, which Stripe takes up to twelve digits", async () => {
      await initiate({ amount: 1_000_000, currency_code: "idr" })
      expect(emulator.paymentIntents()[0]).toMatchObject({ amount: 100_000_000, currency: "idr" })
    })

    it("refuses an amount below Stripe's minimum charge without calling Stripe", async () => {
      const error = failure(await processor.initiatePayment(buildContext({ amount: 30 })))
      expect(error.code).toBe("amount_too_small")
      expect(error.error).toMatch(/below Stripe's minimum charge of 0.50 EUR/)
      expect(stripeCalls()).toBe(0)
    })

    it.each([
      ["a negative amount", -100],
      ["a fractional amount", 10.5],
    ])("refuses %s with a clear error", async (_name, amount) => {
      const error = failure(await processor.initiatePayment(buildContext({ amount })))
      expect(error.code).toBe("invalid_amount")
      expect(emulator.paymentIntents()).toHaveLength(0)
    })

    it("refuses a cart without an email, which Medusa could not turn into an order", async () => {
      const error = failure(await processor.initiatePayment(buildContext({ email: "" })))
      expect(error.code).toBe("email_required")
      expect(error.error).toBe("Could not create the payment: The cart has no email address")
      expect(error.detail).toContain("POST /store/carts/:id")
      expect(emulator.paymentIntents()).toHaveLength(0)
      expect(emulator.customers()).toHaveLength(0)
    })

    it("makes no Stripe customer for a guest without a Medusa customer", async () => {
      const { data, response } = await initiate()
      expect(data.customer).toBeNull()
      expect(response.update_requests).toBeUndefined()
      expect(emulator.customers()).toHaveLength(0)
    })

    it("creates the Stripe customer once and asks Medusa to remember it", async () => {
      const customer = buildCustomer()
      const first = await initiate({ customer, email: customer.email })
      const second = await initiate({ customer, email: customer.email })
      expect(emulator.customers()).toHaveLength(1)
      const stripeId = emulator.customers()[0].id
      expect(first.response.update_requests).toEqual({
        customer_metadata: { stripe_id: stripeId, stripe_id_test: stripeId },
      })
      expect(second.data.customer).toBe(stripeId)
    })

    it("reuses the Stripe customer recorded on the Medusa customer", async () => {
      const customer = buildCustomer()
      const first = await initiate({ customer, email: customer.email })
      const stripeId = first.data.customer as string
      const returning = buildCustomer({ id: customer.id, metadata: { stripe_id: stripeId } })
      const second = await initiate({ customer: returning, email: returning.email })
      expect(second.data.customer).toBe(stripeId)
      expect(second.response.update_requests).toBeUndefined()
      expect(emulator.customers()).toHaveLength(1)
    })

    it("captures at once when the capture option is on", async () => {
      const capturing = buildProcessor(StripeProviderService, emulator, { capture: true })
      unwrap(await capturing.initiatePayment(buildContext()))
      expect(emulator.paymentIntents()[0].capture_method).toBe("automatic")
    })

    it("lets Stripe pick methods when automatic payment methods are on", async () => {
      const automatic = buildProcessor(StripeProviderService, emulator, {
        automatic_payment_methods: true,
      })
      unwrap(await automatic.initiatePayment(buildContext()))
      expect(emulator.paymentIntents()[0].automatic_payment_methods).toMatchObject({
        enabled: true,
      })
    })

    it("adds the configured description, statement suffix and static metadata", async () => {
      const described = buildProcessor(StripeProviderService, emulator, {
        payment_description: "Order at Example Store",
        statement_descriptor_suffix: "EXAMPLE",
        metadata: { store: "example" },
      })
      const context = buildContext()
      unwrap(await described.initiatePayment(context))
      expect(emulator.paymentIntents()[0]).toMatchObject({
        description: "Order at Example Store",
        statement_descriptor_suffix: "EXAMPLE",
        metadata: { store: "example", resource_id: context.resource_id },
      })
    })

    it("asks Stripe to save the card for returning customers when configured", async () => {
      const saving = buildProcessor(StripeProviderService, emulator, {
        setup_future_usage: "off_session",
      })
      const customer = buildCustomer()
      unwrap(await saving.initiatePayment(buildContext({ customer, email: customer.email })))
      expect(emulator.paymentIntents()[0].setup_future_usage).toBe("off_session")
    })

    it("reports a Stripe outage as a complete processor error", async () => {
      emulator.faults.failNext(3, { route: "POST /v1/payment_intents", kind: "500" })
      const error = failure(await processor.initiatePayment(buildContext()))
      expect(error.code).toBe("api_error")
      expect(error.detail).toBeTruthy()
    })
  })

  describe("updatePayment", () => {
    it("calls Stripe not at all when nothing changed", async () => {
      const { context, data } = await initiate()
      emulator.resetCounters()
      const result = await processor.updatePayment({ ...context, paymentSessionData: data })
      expect(result).toBeUndefined()
      expect(stripeCalls()).toBe(0)
    })

    it("updates the same intent when the cart total changes", async () => {
      const { context, data } = await initiate({ amount: 2500 })
      const result = unwrap(
        await processor.updatePayment({ ...context, amount: 3100, paymentSessionData: data })
      )
      expect(result?.session_data).toMatchObject({ id: data.id, amount: 3100 })
      expect(emulator.paymentIntents()).toHaveLength(1)
      expect(emulator.paymentIntent(data.id)?.amount).toBe(3100)
    })

    it("updates the currency in place when the cart changes region", async () => {
      const { context, data } = await initiate({ amount: 2500, currency_code: "eur" })
      const result = unwrap(
        await processor.updatePayment({
          ...context,
          amount: 4000,
          currency_code: "usd",
          paymentSessionData: data,
        })
      )
      expect(result?.session_data).toMatchObject({ id: data.id, amount: 4000, currency: "usd" })
    })

    /** The guest signs in (or registers) after the session was made. */
    const updateAsCustomer = async (
      context: PaymentProcessorContext,
      paymentSessionData: Record<string, unknown>
    ) => {
      const customer = buildCustomer()
      return unwrap(
        await processor.updatePayment({
          ...context,
          customer,
          email: customer.email,
          paymentSessionData,
        })
      )
    }

    it("attaches the customer once the guest gives an email", async () => {
      const { context, data } = await initiate()
      const result = await updateAsCustomer(context, data)
      const stripeId = emulator.customers()[0].id
      expect(result?.session_data).toMatchObject({ id: data.id, customer: stripeId })
      expect(result?.update_requests).toEqual({
        customer_metadata: { stripe_id: stripeId, stripe_id_test: stripeId },
      })
    })

    it.each([
      ["as the saved data says", true],
      ["after the data was saved", false],
    ])(
      "keeps an intent the shopper confirmed %s when only the customer changes",
      async (_when, savedAsConfirmed) => {
        const { context, data } = await initiate()
        await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
        const saved = savedAsConfirmed ? { ...data, status: "requires_capture" as const } : data
        const result = await updateAsCustomer(context, saved)
        expect(result?.session_data).toMatchObject({ id: data.id, status: "requires_capture" })
        if (savedAsConfirmed) {
          const stripeId = emulator.customers()[0].id
          expect(result?.update_requests).toEqual({
            customer_metadata: { stripe_id: stripeId, stripe_id_test: stripeId },
          })
        }
        expect(emulator.paymentIntents()).toHaveLength(1)
        expect(emulator.paymentIntent(data.id)?.status).toBe("requires_capture")
      }
    )

    it("replaces an intent the shopper already confirmed, canceling the old one", async () => {
      const { context, data } = await initiate({ amount: 2500 })
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const result = unwrap(
        await processor.updatePayment({ ...context, amount: 2600, paymentSessionData: data })
      )
      const next = result?.session_data as StripeSessionData
      expect(next.id).not.toBe(data.id)
      expect(emulator.paymentIntent(data.id)?.status).toBe("canceled")
      expect(emulator.paymentIntent(next.id)).toMatchObject({
        amount: 2600,
        status: "requires_payment_method",
      })
    })

    it("refuses a new amount below the minimum and leaves the intent alone", async () => {
      const { context, data } = await initiate({ amount: 2500 })
      const error = failure(
        await processor.updatePayment({ ...context, amount: 10, paymentSessionData: data })
      )
      expect(error.code).toBe("amount_too_small")
      expect(emulator.paymentIntent(data.id)?.amount).toBe(2500)
    })
  })

  describe("authorizePayment", () => {
    it("returns authorized once the shopper confirmed a card", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.status).toBe(PaymentSessionStatus.AUTHORIZED)
      expect(result.data).toMatchObject({ id: data.id, status: "requires_capture" })
    })

    it("adds the card's brand and last four digits once Stripe authorized it", async () => {
      const { context, data } = await initiate()
      expect(data.card_last4).toBeUndefined()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_mastercard" })
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.data).toMatchObject({ card_brand: "mastercard", card_last4: "4444" })
      // Medusa's payment takes its data from retrievePayment, and the capture keeps them.
      const payment = unwrap(await processor.retrievePayment(result.data)) as StripeSessionData
      const captured = unwrap(await processor.capturePayment(payment)) as StripeSessionData
      expect(captured).toMatchObject({ card_brand: "mastercard", card_last4: "4444" })
    })

    it("shows no card while 3-D Secure is pending", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, {
        payment_method: "pm_card_threeDSecure2Required",
      })
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.data).not.toHaveProperty("card_last4")
    })

    it("returns requires_more when 3-D Secure is pending", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, {
        payment_method: "pm_card_threeDSecure2Required",
      })
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.status).toBe(PaymentSessionStatus.REQUIRES_MORE)
    })

    it("returns authorized after the 3-D Secure challenge is passed", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, {
        payment_method: "pm_card_threeDSecure2Required",
      })
      await emulator.completeAction(data.id)
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.status).toBe(PaymentSessionStatus.AUTHORIZED)
    })

    it("returns pending while nothing was confirmed", async () => {
      const { context, data } = await initiate()
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.status).toBe(PaymentSessionStatus.PENDING)
    })

    it("reports a declined card with Stripe's decline message", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, {
        payment_method: "pm_card_chargeDeclinedInsufficientFunds",
      })
      const error = failure(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(error.code).toBe("insufficient_funds")
      expect(error.error).toMatch(/insufficient funds/i)
    })

    it("authorizes after a declined card is replaced by a working one", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_chargeDeclined" })
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const result = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(result.status).toBe(PaymentSessionStatus.AUTHORIZED)
    })

    it("refuses when Stripe holds another amount than the cart total", async () => {
      const { context, data } = await initiate({ amount: 2500 })
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      carts.set(context.resource_id, { total: 9900, currency: "eur" })
      const error = failure(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(error.code).toBe("amount_mismatch")
      expect(error.error).toMatch(
        /Stripe authorized 25.00 EUR on pi_\w+ but the total of cart cart_\w+ is 99.00 EUR/
      )
    })

    it("refuses when the cart's currency differs from the intent's", async () => {
      const { context, data } = await initiate({ amount: 2500 })
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      carts.set(context.resource_id, { total: 2500, currency: "usd" })
      const error = failure(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(error.code).toBe("amount_mismatch")
    })

    it("refuses an intent that belongs to another cart", async () => {
      const { data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const error = failure(await processor.authorizePayment(data, { cart_id: newCartId() }))
      expect(error.code).toBe("payment_intent_mismatch")
    })

    it("refuses session data without an intent id", async () => {
      const error = failure(await processor.authorizePayment({ id: "ps_123" }, {}))
      expect(error.code).toBe("invalid_session_data")
    })

    it("reports an unknown intent id clearly", async () => {
      const error = failure(
        await processor.authorizePayment({ id: "pi_doesnotexist", amount: 1, currency: "eur" }, {})
      )
      expect(error.code).toBe("resource_missing")
    })
  })

  describe("getPaymentStatus", () => {
    it("reads the status from Stripe", async () => {
      const { data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      expect(await processor.getPaymentStatus(data)).toBe(PaymentSessionStatus.AUTHORIZED)
    })

    it("trusts an authorization read moments ago instead of asking Stripe again", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const authorized = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      emulator.resetCounters()
      expect(await processor.getPaymentStatus(authorized.data)).toBe(
        PaymentSessionStatus.AUTHORIZED
      )
      expect(stripeCalls()).toBe(0)
    })

    it("asks Stripe again once the authorization is no longer fresh", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const authorized = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      const stale = { ...authorized.data, synced_at: Date.now() - 60_000 }
      unwrap(await processor.cancelPayment(stale))
      expect(await processor.getPaymentStatus(stale)).toBe(PaymentSessionStatus.CANCELED)
    })

    it("reports a canceled intent as canceled", async () => {
      const { data } = await initiate()
      unwrap(await processor.cancelPayment(data))
      expect(await processor.getPaymentStatus(data)).toBe(PaymentSessionStatus.CANCELED)
    })

    it("throws an error Medusa shows with its message when Stripe cannot answer", async () => {
      const { data } = await initiate()
      emulator.faults.failNext(3, { route: "GET /v1/payment_intents/:id", kind: "500" })
      const thrown = await processor.getPaymentStatus(data).catch((error: unknown) => error)
      expect(thrown).toMatchObject({
        name: "StripeOperationError",
        type: "unexpected_state",
        code: "api_error",
      })
      expect(String((thrown as Error).message)).toMatch(
        /^Stripe could not read the payment status: /
      )
    })
  })

  describe("retrievePayment", () => {
    it("reuses the intent authorizePayment just read", async () => {
      const { context, data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const authorized = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      emulator.resetCounters()
      const retrieved = unwrap(await processor.retrievePayment(authorized.data))
      expect(retrieved).toMatchObject({ id: data.id, status: "requires_capture" })
      expect(stripeCalls()).toBe(0)
    })

    it("reads the intent from Stripe when the data is not a fresh authorization", async () => {
      const { data } = await initiate()
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const retrieved = unwrap(await processor.retrievePayment(data))
      expect(retrieved).toMatchObject({ id: data.id, status: "requires_capture" })
    })
  })

  describe("updatePaymentData", () => {
    it("accepts an empty update", async () => {
      expect(unwrap(await processor.updatePaymentData("ps_1", {}))).toEqual({})
    })

    it("refuses to let the storefront change the amount or the intent", async () => {
      const error = failure(
        await processor.updatePaymentData("ps_1", { amount: 1, id: "pi_other" })
      )
      expect(error.code).toBe("session_data_read_only")
      expect(error.error).toMatch(/Fields amount, id/)
    })

    it("refuses unknown fields by name", async () => {
      const error = failure(await processor.updatePaymentData("ps_1", { favourite: "blue" }))
      expect(error.error).toMatch(/Unknown payment session fields: favourite/)
    })
  })

  describe("constructor", () => {
    it("refuses a publishable key with a message naming the option", () => {
      expect(() =>
        buildProcessor(StripeProviderService, emulator, { api_key: "pk_test_123" })
      ).toThrow(/"api_key" is a publishable key/)
    })
  })
})
