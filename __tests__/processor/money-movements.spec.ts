import { StripeEmulator } from "../../src/emulator"
import StripeProviderService from "../../src/services/stripe-provider"
import type { StripeSessionData } from "../../src/core/session-data"
import { buildContext, buildProcessor, failure, unwrap, type FakeCart } from "../support/processor"

describe("StripeProviderService money movements", () => {
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

  /** A payment as Medusa holds it after cart completion: authorized, not captured. */
  const authorizedPayment = async (
    amount = 5000,
    paymentMethod = "pm_card_visa"
  ): Promise<StripeSessionData> => {
    const context = buildContext({ amount })
    carts.set(context.resource_id, { total: amount, currency: context.currency_code })
    const created = unwrap(await processor.initiatePayment(context))
    const data = created.session_data as StripeSessionData
    await emulator.confirmPaymentIntent(data.id, { payment_method: paymentMethod })
    const authorized = unwrap(
      await processor.authorizePayment(data, { cart_id: context.resource_id })
    )
    return authorized.data as StripeSessionData
  }

  const capturedPayment = async (amount = 5000): Promise<StripeSessionData> =>
    unwrap(await processor.capturePayment(await authorizedPayment(amount))) as StripeSessionData

  describe("capturePayment", () => {
    it("captures the authorized amount", async () => {
      const data = await authorizedPayment(5000)
      const captured = unwrap(await processor.capturePayment(data))
      expect(captured).toMatchObject({ id: data.id, status: "succeeded", amount_received: 5000 })
      expect(emulator.paymentIntent(data.id)?.amount_received).toBe(5000)
    })

    it("treats an intent captured elsewhere as captured", async () => {
      const data = await authorizedPayment()
      unwrap(await processor.capturePayment(data))
      // Medusa still holds the pre-capture data, e.g. after a webhook captured it.
      const again = unwrap(await processor.capturePayment(data))
      expect(again).toMatchObject({ status: "succeeded" })
      expect(emulator.charges().filter((charge) => charge.captured)).toHaveLength(1)
    })

    it("makes no Stripe call for a payment captured automatically", async () => {
      const capturing = buildProcessor(StripeProviderService, emulator, { capture: true }, carts)
      const context = buildContext()
      carts.set(context.resource_id, { total: context.amount, currency: "eur" })
      const created = unwrap(await capturing.initiatePayment(context))
      await emulator.confirmPaymentIntent(created.session_data.id as string, {
        payment_method: "pm_card_visa",
      })
      const authorized = unwrap(
        await capturing.authorizePayment(created.session_data, { cart_id: context.resource_id })
      )
      emulator.resetCounters()
      const captured = unwrap(await capturing.capturePayment(authorized.data))
      expect(captured).toMatchObject({ status: "succeeded" })
      expect(emulator.counters()["POST /v1/payment_intents/:id/capture"] ?? 0).toBe(0)
    })

    it("captures once when the first answer is lost and the SDK retries", async () => {
      const data = await authorizedPayment()
      emulator.faults.failNext(1, {
        route: "POST /v1/payment_intents/:id/capture",
        kind: "reset",
        when: "after",
      })
      unwrap(await processor.capturePayment(data))
      expect(emulator.charges().filter((charge) => charge.captured)).toHaveLength(1)
    })

    it("reports a capture of a canceled intent as an error", async () => {
      const data = await authorizedPayment()
      unwrap(await processor.cancelPayment(data))
      const error = failure(await processor.capturePayment(data))
      expect(error.code).toBe("payment_intent_unexpected_state")
    })
  })

  describe("refundPayment", () => {
    it("refunds part of a captured payment and records it", async () => {
      const data = await capturedPayment(5000)
      const refunded = unwrap(await processor.refundPayment(data, 1500)) as StripeSessionData
      expect(refunded.amount_refunded).toBe(1500)
      expect(refunded.refunds).toHaveLength(1)
      expect(emulator.refunds()).toMatchObject([
        { amount: 1500, payment_intent: data.id, metadata: { medusa_refund_origin: "medusa" } },
      ])
    })

    it("refunds the rest after a partial refund", async () => {
      const data = await capturedPayment(5000)
      const partial = unwrap(await processor.refundPayment(data, 1500)) as StripeSessionData
      const full = unwrap(await processor.refundPayment(partial, 3500)) as StripeSessionData
      expect(full.amount_refunded).toBe(5000)
      expect(emulator.refunds()).toHaveLength(2)
    })

    it("makes two refunds of the same amount when Medusa asks twice", async () => {
      const data = await capturedPayment(5000)
      const first = unwrap(await processor.refundPayment(data, 1000)) as StripeSessionData
      unwrap(await processor.refundPayment(first, 1000))
      expect(emulator.refunds()).toHaveLength(2)
    })

    it("makes one refund when the same refund is retried with the same data", async () => {
      const data = await capturedPayment(5000)
      unwrap(await processor.refundPayment(data, 1000))
      unwrap(await processor.refundPayment(data, 1000))
      expect(emulator.refunds()).toHaveLength(1)
    })

    it("reports refunding more than was captured clearly", async () => {
      const data = await capturedPayment(5000)
      const error = failure(await processor.refundPayment(data, 6000))
      expect(error.error).toMatch(/Refund amount .* is greater than/)
      expect(emulator.refunds()).toHaveLength(0)
    })

    it("refuses a zero refund", async () => {
      const data = await capturedPayment(5000)
      expect(failure(await processor.refundPayment(data, 0)).code).toBe("invalid_amount")
    })
  })

  describe("cancelPayment", () => {
    it("releases an authorization", async () => {
      const data = await authorizedPayment()
      const canceled = unwrap(await processor.cancelPayment(data))
      expect(canceled).toMatchObject({ status: "canceled" })
      expect(emulator.paymentIntent(data.id)?.status).toBe("canceled")
    })

    it("treats an intent canceled before as canceled", async () => {
      const data = await authorizedPayment()
      unwrap(await processor.cancelPayment(data))
      expect(unwrap(await processor.cancelPayment(data))).toMatchObject({ status: "canceled" })
    })

    it("refunds a captured payment instead, so the shopper is not left charged", async () => {
      const data = await capturedPayment(5000)
      const result = unwrap(await processor.cancelPayment(data)) as StripeSessionData
      expect(result.amount_refunded).toBe(5000)
      expect(emulator.refunds()).toMatchObject([{ amount: 5000, payment_intent: data.id }])
    })

    it("refunds only what is left after a partial refund", async () => {
      const data = await capturedPayment(5000)
      const partial = unwrap(await processor.refundPayment(data, 2000)) as StripeSessionData
      unwrap(await processor.cancelPayment(partial))
      expect(
        emulator
          .refunds()
          .map((refund) => refund.amount)
          .sort()
      ).toEqual([2000, 3000])
    })
  })

  describe("deletePayment", () => {
    it("cancels the intent of a session the shopper abandoned", async () => {
      const context = buildContext()
      const created = unwrap(await processor.initiatePayment(context))
      unwrap(await processor.deletePayment(created.session_data))
      expect(emulator.paymentIntent(created.session_data.id as string)?.status).toBe("canceled")
    })

    it("lets a new session for the same cart get a new intent", async () => {
      const context = buildContext()
      const created = unwrap(await processor.initiatePayment(context))
      unwrap(await processor.deletePayment(created.session_data))
      const again = unwrap(await processor.initiatePayment({ ...context }))
      expect(again.session_data.id).not.toBe(created.session_data.id)
      expect(again.session_data.status).toBe("requires_payment_method")
    })
  })
})
