import { PaymentSessionStatus } from "@medusajs/medusa"
import { StripeEmulator } from "../../src/emulator"
import type { StripeBase } from "../../src/core/stripe-base"
import BancontactProviderService from "../../src/services/stripe-bancontact"
import BlikProviderService from "../../src/services/stripe-blik"
import GiropayProviderService from "../../src/services/stripe-giropay"
import IdealProviderService from "../../src/services/stripe-ideal"
import KlarnaProviderService from "../../src/services/stripe-klarna"
import Przelewy24ProviderService from "../../src/services/stripe-przelewy24"
import SepaDebitProviderService from "../../src/services/stripe-sepa-debit"
import { buildContext, buildProcessor, failure, unwrap, type FakeCart } from "../support/processor"

type Processor = new (
  container: Record<string, unknown>,
  options?: Record<string, unknown>
) => StripeBase

describe("local payment method processors", () => {
  let emulator: StripeEmulator
  const carts = new Map<string, FakeCart>()

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
  })

  afterAll(async () => {
    await emulator.stop()
  })

  beforeEach(() => emulator.reset())

  const methods: Array<[string, Processor, string, string, string]> = [
    ["stripe-ideal", IdealProviderService, "ideal", "eur", "pm_ideal"],
    ["stripe-bancontact", BancontactProviderService, "bancontact", "eur", "pm_bancontact"],
    ["stripe-blik", BlikProviderService, "blik", "pln", "pm_blik"],
    ["stripe-przelewy24", Przelewy24ProviderService, "p24", "pln", "pm_p24"],
    ["stripe-klarna", KlarnaProviderService, "klarna", "eur", "pm_klarna"],
  ]

  describe.each(methods)("%s", (identifier, Processor, type, currency, paymentMethod) => {
    it(`has the identifier ${identifier}`, () => {
      expect(buildProcessor(Processor, emulator).getIdentifier()).toBe(identifier)
    })

    it(`creates an intent for ${type} only`, async () => {
      const processor = buildProcessor(Processor, emulator, {}, carts)
      unwrap(
        await processor.initiatePayment(buildContext({ currency_code: currency, amount: 5000 }))
      )
      expect(emulator.paymentIntents()[0].payment_method_types).toEqual([type])
    })

    it("is authorized once the shopper returns from the redirect", async () => {
      const processor = buildProcessor(Processor, emulator, {}, carts)
      const context = buildContext({ currency_code: currency, amount: 5000 })
      carts.set(context.resource_id, { total: 5000, currency })
      const data = unwrap(await processor.initiatePayment(context)).session_data
      const id = data.id as string
      await emulator.confirmPaymentIntent(id, {
        payment_method: paymentMethod,
        return_url: "https://shop.example/checkout",
      })
      const pending = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(pending.status).toBe(PaymentSessionStatus.REQUIRES_MORE)
      await emulator.completeAction(id)
      const done = unwrap(await processor.authorizePayment(data, { cart_id: context.resource_id }))
      expect(done.status).toBe(PaymentSessionStatus.AUTHORIZED)
    })
  })

  it.each([
    [IdealProviderService, "iDEAL accepts EUR, not USD"],
    [BlikProviderService, "BLIK accepts PLN, not USD"],
  ])("refuses a currency the method does not take", async (Processor, message) => {
    const processor = buildProcessor(Processor, emulator)
    const error = failure(await processor.initiatePayment(buildContext({ currency_code: "usd" })))
    expect(error.code).toBe("currency_not_supported")
    expect(error.error).toContain(message)
    expect(emulator.paymentIntents()).toHaveLength(0)
  })

  it.each([
    ["iDEAL", IdealProviderService, "automatic"],
    ["Klarna", KlarnaProviderService, "manual"],
  ])("uses the capture method %s supports", async (_label, Processor, captureMethod) => {
    const processor = buildProcessor(Processor, emulator)
    unwrap(await processor.initiatePayment(buildContext({ currency_code: "eur" })))
    expect(emulator.paymentIntents()[0].capture_method).toBe(captureMethod)
  })

  it("refuses giropay, which Stripe retired, with a clear reason", async () => {
    const processor = buildProcessor(GiropayProviderService, emulator)
    expect(processor.getIdentifier()).toBe("stripe-giropay")
    const error = failure(await processor.initiatePayment(buildContext()))
    expect(error.code).toBe("payment_method_unavailable")
    expect(error.error).toMatch(/Stripe retired giropay/)
    expect(emulator.paymentIntents()).toHaveLength(0)
  })

  describe("stripe-sepa-debit", () => {
    it("stays pending while the debit is processing, then authorizes", async () => {
      const processor = buildProcessor(SepaDebitProviderService, emulator, {}, carts)
      const context = buildContext({ currency_code: "eur", amount: 5000 })
      carts.set(context.resource_id, { total: 5000, currency: "eur" })
      const data = unwrap(await processor.initiatePayment(context)).session_data
      const id = data.id as string
      await emulator.confirmPaymentIntent(id, { payment_method: "pm_sepa_debit" })
      const processing = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(processing.status).toBe(PaymentSessionStatus.PENDING)
      await emulator.settleProcessing(id, { succeed: true })
      const settled = unwrap(
        await processor.authorizePayment(data, { cart_id: context.resource_id })
      )
      expect(settled.status).toBe(PaymentSessionStatus.AUTHORIZED)
    })
  })
})
