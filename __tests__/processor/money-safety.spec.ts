import { PaymentSessionStatus, type PaymentProcessorContext } from "@medusajs/medusa"
import Stripe from "stripe"
import { StripeEmulator } from "../../src/emulator"
import StripeProviderService from "../../src/services/stripe-provider"
import StripeIdealService from "../../src/services/stripe-ideal"
import type { BookedPayment, PaymentBookings } from "../../src/core/payment-bookings"
import type { StripeSessionData } from "../../src/core/session-data"
import {
  buildContext,
  buildCustomer,
  buildProcessor,
  failure,
  TEST_API_KEY,
  unwrap,
  type FakeCart,
} from "../support/processor"

/**
 * The histories in which the plugin once took, kept or gave back money Medusa did not know
 * about. Medusa's own part is played by the test: it keeps the session data the processor
 * returns and books Payments in `booked`, which the processor reads through its bookings.
 */
describe("money safety", () => {
  let emulator: StripeEmulator
  let stripe: Stripe
  const carts = new Map<string, FakeCart>()
  const booked = new Map<string, BookedPayment>()
  const bookings: PaymentBookings = {
    paymentsOf: async (intentId) => (booked.has(intentId) ? [booked.get(intentId)!] : []),
  }
  const build = (options: Record<string, unknown> = {}) =>
    buildProcessor(StripeProviderService, emulator, options, carts, {
      stripePaymentBookings: bookings,
    })
  let processor: StripeProviderService
  let capturing: StripeProviderService

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    const { host, port, protocol } = emulator.stripeConfig()
    stripe = new Stripe(TEST_API_KEY, { host, port, protocol, apiVersion: "2024-04-10" })
    processor = build()
    capturing = build({ capture: true })
  })

  afterAll(async () => {
    await emulator.stop()
  })

  beforeEach(() => {
    emulator.reset()
    emulator.faults.clear()
    booked.clear()
    carts.clear()
  })

  const cartOf = (amount = 5000): PaymentProcessorContext => {
    const context = buildContext({ amount })
    carts.set(context.resource_id, { total: amount, currency: context.currency_code })
    return context
  }

  /** The shopper pays the session's intent; Medusa authorizes it and books a Payment. */
  const pay = async (
    payer: StripeProviderService,
    context: PaymentProcessorContext,
    data: StripeSessionData
  ): Promise<StripeSessionData> => {
    await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
    const authorized = unwrap(await payer.authorizePayment(data, { cart_id: context.resource_id }))
    expect(authorized.status).toBe(PaymentSessionStatus.AUTHORIZED)
    return authorized.data as StripeSessionData
  }

  const book = (data: StripeSessionData, context: PaymentProcessorContext): void => {
    booked.set(data.id, {
      id: `pay_${data.id}`,
      amount: data.amount,
      captured: data.status === "succeeded",
      cart_id: context.resource_id,
      order_id: `order_${context.resource_id}`,
      swap_id: null,
    })
  }

  const initiate = async (payer: StripeProviderService, context: PaymentProcessorContext) =>
    unwrap(await payer.initiatePayment(context)).session_data as StripeSessionData

  describe("a placed order's payment", () => {
    it.each([
      ["captured automatically", true],
      ["authorized for a later capture", false],
    ])("is not refunded or released when its session is deleted (%s)", async (_name, automatic) => {
      const payer = automatic ? capturing : processor
      const context = cartOf()
      const paid = await pay(payer, context, await initiate(payer, context))
      book(paid, context)
      const before = emulator.paymentIntent(paid.id)

      const error = failure(await payer.deletePayment(paid))

      expect(error.code).toBe("payment_booked")
      expect(error.error).toContain(`order order_${context.resource_id}`)
      expect(emulator.paymentIntent(paid.id)?.status).toBe(before?.status)
      expect(emulator.refunds()).toHaveLength(0)
    })

    it("is not replaced when the completed cart's total changes", async () => {
      const context = cartOf(5000)
      const paid = await pay(processor, context, await initiate(processor, context))
      book(paid, context)

      const error = failure(
        await processor.updatePayment({ ...context, amount: 6000, paymentSessionData: paid })
      )

      expect(error.code).toBe("payment_booked")
      expect(emulator.paymentIntent(paid.id)?.status).toBe("requires_capture")
      expect(emulator.paymentIntents()).toHaveLength(1)
    })

    it("is still released by Medusa's own cancel of the payment", async () => {
      const context = cartOf()
      const paid = await pay(processor, context, await initiate(processor, context))
      book(paid, context)
      const canceled = unwrap(await processor.cancelPayment(paid))
      expect(canceled).toMatchObject({ status: "canceled" })
    })
  })

  describe("a session made again for a cart", () => {
    it("never gets the earlier, refunded intent (switched away and back)", async () => {
      const context = cartOf()
      const paid = await pay(capturing, context, await initiate(capturing, context))
      // The shopper switches to another provider: the session is deleted, its money refunded.
      unwrap(await capturing.deletePayment(paid))
      expect(emulator.paymentIntent(paid.id)?.amount_received).toBe(5000)
      expect(emulator.refunds().map((refund) => refund.amount)).toEqual([5000])

      const again = await initiate(capturing, context)

      expect(again.id).not.toBe(paid.id)
      expect(again.status).toBe("requires_payment_method")
      const error = failure(
        await capturing.authorizePayment(paid, { cart_id: context.resource_id })
      )
      expect(error.code).toBe("payment_no_longer_held")
    })

    it("never gets the earlier intent when the total drops to zero and comes back", async () => {
      const context = cartOf(5000)
      const first = await initiate(capturing, context)
      unwrap(await capturing.deletePayment(first))
      const again = await initiate(capturing, context)
      expect(again.id).not.toBe(first.id)
      expect(emulator.paymentIntent(again.id)?.status).toBe("requires_payment_method")
    })
  })

  describe("an automatically captured payment refunded when completion ran out of stock", () => {
    it("is not called authorized when the shopper completes again", async () => {
      const context = cartOf()
      const paid = await pay(capturing, context, await initiate(capturing, context))
      // Medusa's completion fails for lack of stock and cancels the payment: refunded.
      const canceled = unwrap(await capturing.cancelPayment(paid)) as StripeSessionData

      const error = failure(
        await capturing.authorizePayment(paid, { cart_id: context.resource_id })
      )

      expect(error.code).toBe("payment_no_longer_held")
      expect(error.error).toMatch(/Stripe holds 0.00 EUR of the 50.00 EUR/)
      expect(await capturing.getPaymentStatus(canceled)).toBe(PaymentSessionStatus.ERROR)
    })

    it("is not called authorized once partly refunded", async () => {
      const context = cartOf()
      const data = await initiate(capturing, context)
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      await emulator.refundFromDashboard(data.id, 100)
      const error = failure(
        await capturing.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(error.code).toBe("payment_no_longer_held")
    })
  })

  describe("a payment collection paid with two sessions of equal amounts", () => {
    it("holds two intents, each verified against its own session", async () => {
      const context = buildContext({ amount: 2500, resource_id: "paycol_split" })
      const first = await initiate(processor, context)
      const second = await initiate(processor, context)
      expect(second.id).not.toBe(first.id)

      await emulator.confirmPaymentIntent(first.id, { payment_method: "pm_card_visa" })
      await emulator.confirmPaymentIntent(second.id, { payment_method: "pm_card_visa" })
      for (const data of [first, second]) {
        const authorized = unwrap(await processor.authorizePayment(data, {}))
        expect(authorized.status).toBe(PaymentSessionStatus.AUTHORIZED)
        unwrap(await processor.capturePayment(authorized.data))
      }

      const received = emulator.paymentIntents().map((intent) => intent.amount_received)
      expect(received).toEqual([2500, 2500])
    })

    it("refuses a session whose intent holds another amount", async () => {
      const context = buildContext({ amount: 2500, resource_id: "paycol_tampered" })
      const data = await initiate(processor, context)
      await stripe.paymentIntents.update(data.id, { amount: 1000 })
      await emulator.confirmPaymentIntent(data.id, { payment_method: "pm_card_visa" })
      const error = failure(await processor.authorizePayment(data, {}))
      expect(error.code).toBe("amount_mismatch")
    })
  })

  describe("a cart total going A -> B -> C -> B", () => {
    it("leaves the intent at B", async () => {
      const context = cartOf(2500)
      let data = await initiate(processor, context)
      for (const amount of [2600, 2700, 2600]) {
        const updated = unwrap(
          await processor.updatePayment({ ...context, amount, paymentSessionData: data })
        )
        data = (updated?.session_data as StripeSessionData) ?? data
      }
      expect(data.amount).toBe(2600)
      expect(emulator.paymentIntent(data.id)?.amount).toBe(2600)
    })
  })

  describe("refunds", () => {
    const capturedPayment = async (): Promise<StripeSessionData> => {
      const context = cartOf()
      const paid = await pay(processor, context, await initiate(processor, context))
      return unwrap(await processor.capturePayment(paid)) as StripeSessionData
    }

    it("succeed when retried after Stripe refused for lack of balance", async () => {
      const data = await capturedPayment()
      emulator.failNextRefund("error")
      const refused = failure(await processor.refundPayment(data, 1000))
      expect(refused.code).toBe("balance_insufficient")

      // Medusa rolled back: the retry starts from the same payment data.
      const refunded = unwrap(await processor.refundPayment(data, 1000))

      expect(refunded).toMatchObject({ amount_refunded: 1000 })
      expect(emulator.refunds().filter((refund) => refund.status === "succeeded")).toHaveLength(1)
    })

    it("are not made twice when Medusa lost the first answer and the merchant retries", async () => {
      const data = await capturedPayment()
      unwrap(await processor.refundPayment(data, 1000))
      // Medusa's transaction rolled back after Stripe refunded: its data knows no refund.

      const retried = unwrap(await processor.refundPayment(data, 1000))

      expect(emulator.refunds()).toHaveLength(1)
      expect(retried).toMatchObject({
        amount_refunded: 1000,
        refunds: [expect.objectContaining({ id: emulator.refunds()[0].id })],
      })
    })

    it("of equal amounts are both made once the first is booked", async () => {
      const data = await capturedPayment()
      const afterFirst = unwrap(await processor.refundPayment(data, 1000))
      const afterSecond = unwrap(await processor.refundPayment(afterFirst, 1000))
      expect(emulator.refunds()).toHaveLength(2)
      expect(afterSecond).toMatchObject({ amount_refunded: 2000 })
    })
  })

  describe("a Stripe customer that no longer exists under the current key", () => {
    it("is replaced by a new one, recorded for the key's mode, and checkout proceeds", async () => {
      const stale = await stripe.customers.create({ email: "shopper@example.com" })
      await stripe.customers.del(stale.id)
      const customer = buildCustomer({ metadata: { stripe_id: stale.id } })
      const context = { ...cartOf(), customer, email: customer.email }

      const created = unwrap(await processor.initiatePayment(context))

      const replacement = (created.session_data as StripeSessionData).customer
      expect(replacement).toMatch(/^cus_/)
      expect(replacement).not.toBe(stale.id)
      expect(created.update_requests).toEqual({
        customer_metadata: { stripe_id: replacement, stripe_id_test: replacement },
      })
    })

    it("is looked up by the key's mode before the official plugin's stripe_id", async () => {
      const live = "cus_fromlivemode"
      const test = await stripe.customers.create({ email: "shopper@example.com" })
      const customer = buildCustomer({ metadata: { stripe_id: live, stripe_id_test: test.id } })
      const context = { ...cartOf(), customer, email: customer.email }
      const created = unwrap(await processor.initiatePayment(context))
      expect((created.session_data as StripeSessionData).customer).toBe(test.id)
      expect(created.update_requests).toBeUndefined()
    })

    it("is replaced when the shopper's session is updated too", async () => {
      const guest = cartOf(2500)
      const data = await initiate(processor, guest)
      const stale = await stripe.customers.create({ email: "shopper@example.com" })
      await stripe.customers.del(stale.id)
      const customer = buildCustomer({ metadata: { stripe_id: stale.id } })
      const updated = unwrap(
        await processor.updatePayment({
          ...guest,
          customer,
          email: customer.email,
          paymentSessionData: data,
        })
      )
      const replacement = (updated?.session_data as StripeSessionData).customer
      expect(replacement).toMatch(/^cus_/)
      expect(replacement).not.toBe(stale.id)
    })
  })

  describe("local methods that capture at once", () => {
    it("refuse to authorize an iDEAL intent whose money went back", async () => {
      const ideal = buildProcessor(StripeIdealService, emulator, {}, carts, {
        stripePaymentBookings: bookings,
      })
      const context = cartOf()
      const data = await initiate(ideal, context)
      await emulator.confirmPaymentIntent(data.id, {
        payment_method: "pm_ideal",
        return_url: "https://shop.example/return",
      })
      await emulator.completeAction(data.id)
      await emulator.refundFromDashboard(data.id)
      const error = failure(await ideal.authorizePayment(data, { cart_id: context.resource_id }))
      expect(error.code).toBe("payment_no_longer_held")
    })
  })
})
