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

const cardIntent = (
  params: Partial<Stripe.PaymentIntentCreateParams> = {}
): Promise<Stripe.PaymentIntent> =>
  stripe.paymentIntents.create({
    amount: 2500,
    currency: "eur",
    payment_method_types: ["card"],
    ...params,
  })

const eventTypesFor = (id: string): string[] =>
  emu
    .events()
    .filter((event) => (event.data.object as { id?: string }).id === id)
    .map((event) => event.type)

describe("PaymentIntent creation", () => {
  it("starts in requires_payment_method with Stripe's shape", async () => {
    const intent = await cardIntent({
      metadata: { cart_id: "cart_1" },
      description: "Order 1",
      statement_descriptor_suffix: "ORDER 1",
    })
    expect(intent).toMatchObject({
      object: "payment_intent",
      amount: 2500,
      currency: "eur",
      status: "requires_payment_method",
      capture_method: "automatic_async",
      payment_method_types: ["card"],
      metadata: { cart_id: "cart_1" },
      description: "Order 1",
      statement_descriptor_suffix: "ORDER 1",
      livemode: false,
      latest_charge: null,
    })
    expect(intent.id).toMatch(/^pi_[A-Za-z0-9]{24}$/)
    expect(intent.client_secret).toMatch(new RegExp(`^${intent.id}_secret_`))
    expect(eventTypesFor(intent.id)).toEqual(["payment_intent.created"])
  })

  it("lower-cases the currency", async () => {
    const intent = await cardIntent({ currency: "EUR" })
    expect(intent.currency).toBe("eur")
  })

  it("enables automatic payment methods when no types are given", async () => {
    const intent = await stripe.paymentIntents.create({ amount: 1000, currency: "eur" })
    expect(intent.automatic_payment_methods).toEqual({ allow_redirects: "always", enabled: true })
    expect(intent.payment_method_types).toEqual(
      expect.arrayContaining(["card", "ideal", "bancontact", "sepa_debit"])
    )
  })

  it("moves to requires_confirmation when created with a payment method", async () => {
    const intent = await cardIntent({ payment_method: "pm_card_visa" })
    expect(intent.status).toBe("requires_confirmation")
    expect(intent.payment_method).toMatch(/^pm_/)
    expect(intent.payment_method).not.toBe("pm_card_visa")
  })

  it("rejects a customer that does not exist", async () => {
    const error = await stripeError(() => cardIntent({ customer: "cus_missing" }))
    expect(error).toMatchObject({
      statusCode: 404,
      type: "StripeInvalidRequestError",
      code: "resource_missing",
      param: "customer",
      message: "No such customer: 'cus_missing'",
    })
  })

  it("rejects a payment method type that cannot charge the currency", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        payment_method_types: ["ideal"],
      })
    )
    expect(error.code).toBe("payment_intent_invalid_parameter")
  })
})

describe("Amount rules", () => {
  it("refuses amounts under the currency minimum with amount_too_small", async () => {
    const error = await stripeError(() => cardIntent({ amount: 49 }))
    expect(error).toMatchObject({
      statusCode: 400,
      code: "amount_too_small",
      param: "amount",
      message: "Amount must be at least €0.50 eur",
    })
    const pounds = await stripeError(() => cardIntent({ amount: 29, currency: "gbp" }))
    expect(pounds.message).toBe("Amount must be at least £0.30 gbp")
  })

  it("refuses amounts over 99999999 with amount_too_large", async () => {
    const error = await stripeError(() => cardIntent({ amount: 100_000_000 }))
    expect(error).toMatchObject({ code: "amount_too_large", param: "amount" })
  })

  it("takes IDR amounts up to twelve digits, as Stripe does", async () => {
    const intent = await cardIntent({ amount: 100_000_000, currency: "idr" })
    expect(intent.amount).toBe(100_000_000)
    const error = await stripeError(() =>
      cardIntent({ amount: 1_000_000_000_000, currency: "idr" })
    )
    expect(error).toMatchObject({ code: "amount_too_large", param: "amount" })
  })

  it("takes zero-decimal currencies in whole units (jpy minimum ¥50)", async () => {
    const intent = await cardIntent({ amount: 500, currency: "jpy" })
    expect(intent.amount).toBe(500)
    const error = await stripeError(() => cardIntent({ amount: 49, currency: "jpy" }))
    expect(error).toMatchObject({
      code: "amount_too_small",
      message: "Amount must be at least ¥50 jpy",
    })
  })

  it("requires three-decimal currencies (kwd) to be a multiple of 10", async () => {
    const intent = await cardIntent({ amount: 1230, currency: "kwd" })
    expect(intent.amount).toBe(1230)
    const error = await stripeError(() => cardIntent({ amount: 1235, currency: "kwd" }))
    expect(error).toMatchObject({ statusCode: 400, code: "invalid_charge_amount", param: "amount" })
  })

  it("refuses zero amounts as an invalid integer", async () => {
    const error = await stripeError(() => cardIntent({ amount: 0 }))
    expect(error).toMatchObject({ code: "parameter_invalid_integer", param: "amount" })
  })
})

describe("PaymentIntent confirm with cards", () => {
  it("succeeds with pm_card_visa under automatic capture, with a captured charge", async () => {
    const intent = await cardIntent({ capture_method: "automatic" })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_visa",
      expand: ["latest_charge"],
    })
    expect(confirmed.status).toBe("succeeded")
    expect(confirmed.amount_received).toBe(2500)
    expect(confirmed.amount_capturable).toBe(0)
    const charge = confirmed.latest_charge as Stripe.Charge
    expect(charge).toMatchObject({
      object: "charge",
      status: "succeeded",
      paid: true,
      captured: true,
      amount: 2500,
      amount_captured: 2500,
      payment_intent: intent.id,
      payment_method: confirmed.payment_method,
      outcome: { type: "authorized", risk_level: "normal", network_status: "approved_by_network" },
      payment_method_details: {
        type: "card",
        card: { brand: "visa", last4: "4242", three_d_secure: null },
      },
    })
    expect(typeof charge.outcome?.risk_score).toBe("number")
    expect(charge.balance_transaction).toMatch(/^txn_/)
    expect(eventTypesFor(intent.id)).toEqual(["payment_intent.created", "payment_intent.succeeded"])
    expect(eventTypesFor(charge.id)).toEqual(["charge.succeeded"])
  })

  it("holds the amount in requires_capture under manual capture", async () => {
    const intent = await cardIntent({ capture_method: "manual" })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_mastercard",
    })
    expect(confirmed).toMatchObject({
      status: "requires_capture",
      amount_capturable: 2500,
      amount_received: 0,
    })
    const charge = await stripe.charges.retrieve(String(confirmed.latest_charge))
    expect(charge).toMatchObject({ captured: false, amount_captured: 0, balance_transaction: null })
    expect(charge.payment_method_details?.card?.brand).toBe("mastercard")
    expect(eventTypesFor(intent.id)).toContain("payment_intent.amount_capturable_updated")
  })

  it("treats any other pm_card_* id as a successful card", async () => {
    const confirmed = await cardIntent({ confirm: true, payment_method: "pm_card_somethingNew" })
    expect(confirmed.status).toBe("succeeded")
  })

  it("confirms at creation with confirm=true", async () => {
    const intent = await cardIntent({
      confirm: true,
      payment_method: "pm_card_visa",
      capture_method: "manual",
    })
    expect(intent.status).toBe("requires_capture")
  })

  it("declines pm_card_chargeDeclined with a 402 card_error and generic_decline", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_chargeDeclined" })
    )
    expect(error).toMatchObject({
      statusCode: 402,
      type: "StripeCardError",
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
    })
    expect(error.payment_intent?.status).toBe("requires_payment_method")
    const after = await stripe.paymentIntents.retrieve(intent.id, { expand: ["latest_charge"] })
    expect(after.status).toBe("requires_payment_method")
    expect(after.payment_method).toBeNull()
    expect(after.last_payment_error).toMatchObject({
      type: "card_error",
      code: "card_declined",
      decline_code: "generic_decline",
    })
    expect(after.last_payment_error?.payment_method?.card?.last4).toBe("0002")
    expect(after.latest_charge).toMatchObject({
      status: "failed",
      paid: false,
      failure_code: "card_declined",
    })
    expect(eventTypesFor(intent.id)).toEqual([
      "payment_intent.created",
      "payment_intent.payment_failed",
    ])
  })

  it("declines pm_card_chargeDeclinedInsufficientFunds with insufficient_funds", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, {
        payment_method: "pm_card_chargeDeclinedInsufficientFunds",
      })
    )
    expect(error).toMatchObject({
      code: "card_declined",
      decline_code: "insufficient_funds",
      message: "Your card has insufficient funds.",
    })
  })

  it("lets a declined intent be confirmed again with another card", async () => {
    const intent = await cardIntent()
    await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_chargeDeclined" })
    )
    const retried = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_visa",
    })
    expect(retried.status).toBe("succeeded")
    expect(retried.last_payment_error).toBeNull()
    expect(await stripe.charges.list({ payment_intent: intent.id })).toMatchObject({
      data: [{ status: "succeeded" }, { status: "failed" }],
    })
  })

  it("refuses to confirm without a payment method", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() => stripe.paymentIntents.confirm(intent.id))
    expect(error).toMatchObject({ statusCode: 400, code: "payment_intent_unexpected_state" })
  })

  it("refuses to confirm a succeeded intent", async () => {
    const intent = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    const error = await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_visa" })
    )
    expect(error).toMatchObject({
      code: "payment_intent_unexpected_state",
      message:
        "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
    })
  })
})

describe("3D Secure", () => {
  it("moves to requires_action for pm_card_threeDSecure2Required", async () => {
    const intent = await cardIntent({ capture_method: "manual" })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_threeDSecure2Required",
    })
    expect(confirmed.status).toBe("requires_action")
    expect(confirmed.next_action?.type).toBe("use_stripe_sdk")
    expect(confirmed.next_action?.use_stripe_sdk).toMatchObject({ type: "three_d_secure_redirect" })
    expect(eventTypesFor(intent.id)).toContain("payment_intent.requires_action")
  })

  it("uses redirect_to_url when a return_url is given", async () => {
    const intent = await cardIntent()
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_authenticationRequired",
      return_url: "https://shop.example/return",
    })
    expect(confirmed.next_action).toMatchObject({
      type: "redirect_to_url",
      redirect_to_url: { return_url: "https://shop.example/return" },
    })
    expect(confirmed.next_action?.redirect_to_url?.url).toContain(emu.url)
  })

  it("completes the challenge into requires_capture with 3DS details on the charge", async () => {
    const intent = await cardIntent({ capture_method: "manual" })
    await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_threeDSecure2Required",
    })
    const completed = await emu.completeAction(intent.id)
    expect(completed.status).toBe("requires_capture")
    const charge = await stripe.charges.retrieve(
      String((completed as Stripe.PaymentIntent).latest_charge)
    )
    expect(charge.payment_method_details?.card?.three_d_secure).toMatchObject({
      result: "authenticated",
      version: "2.2.0",
    })
  })

  it("completes the challenge into succeeded under automatic capture", async () => {
    const intent = await cardIntent()
    await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_authenticationRequired",
    })
    expect((await emu.completeAction(intent.id)).status).toBe("succeeded")
  })

  it("fails the challenge back to requires_payment_method with payment_intent_authentication_failure", async () => {
    const intent = await cardIntent()
    await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_threeDSecure2Required",
    })
    await emu.failAction(intent.id)
    const after = await stripe.paymentIntents.retrieve(intent.id)
    expect(after.status).toBe("requires_payment_method")
    expect(after.last_payment_error?.code).toBe("payment_intent_authentication_failure")
    expect(after.next_action).toBeNull()
    expect(eventTypesFor(intent.id)).toContain("payment_intent.payment_failed")
  })

  it("declines off-session payments that need authentication", async () => {
    const customer = await stripe.customers.create({ email: "off@session.example" })
    const method = await stripe.paymentMethods.attach("pm_card_authenticationRequired", {
      customer: customer.id,
    })
    const error = await stripeError(() =>
      cardIntent({
        customer: customer.id,
        payment_method: method.id,
        confirm: true,
        off_session: true,
      })
    )
    expect(error).toMatchObject({
      code: "authentication_required",
      decline_code: "authentication_required",
    })
  })

  it("fails instead of asking for authentication with error_on_requires_action", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, {
        payment_method: "pm_card_threeDSecure2Required",
        error_on_requires_action: true,
      })
    )
    expect(error).toMatchObject({ statusCode: 402, code: "authentication_required" })
  })

  it("challenges any card when request_three_d_secure is any", async () => {
    const intent = await cardIntent({
      payment_method_options: { card: { request_three_d_secure: "any" } },
    })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_visa",
    })
    expect(confirmed.status).toBe("requires_action")
  })
})

describe("Local payment methods", () => {
  it.each([
    ["ideal", "pm_ideal", "eur"],
    ["bancontact", "pm_bancontact", "eur"],
    ["p24", "pm_p24", "pln"],
    ["giropay", "pm_giropay", "eur"],
  ])("redirects %s and succeeds when the shopper completes it", async (type, method, currency) => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency,
      payment_method_types: [type],
    })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: method,
      return_url: "https://shop.example/return",
    })
    expect(confirmed.status).toBe("requires_action")
    expect(confirmed.next_action?.type).toBe("redirect_to_url")
    const completed = (await emu.completeAction(intent.id)) as Stripe.PaymentIntent
    expect(completed.status).toBe("succeeded")
    const charge = await stripe.charges.retrieve(String(completed.latest_charge))
    expect(charge.payment_method_details?.type).toBe(type)
  })

  it("fails a bank redirect back to requires_payment_method", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "eur",
      payment_method_types: ["ideal"],
    })
    await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_ideal",
      return_url: "https://x.example",
    })
    const failed = await emu.failAction(intent.id)
    expect(failed.status).toBe("requires_payment_method")
  })

  it("asks BLIK payments for blik_authorize and succeeds on approval", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "pln",
      payment_method_types: ["blik"],
    })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_blik" })
    expect(confirmed.status).toBe("requires_action")
    expect(confirmed.next_action?.type).toBe("blik_authorize")
    expect((await emu.completeAction(intent.id)).status).toBe("succeeded")
  })

  it("holds Klarna for manual capture after the redirect", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "eur",
      capture_method: "manual",
      payment_method_types: ["klarna"],
    })
    await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_klarna",
      return_url: "https://x.example",
    })
    expect((await emu.completeAction(intent.id)).status).toBe("requires_capture")
  })

  it("refuses manual capture for iDEAL", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create({
        amount: 2000,
        currency: "eur",
        capture_method: "manual",
        payment_method_types: ["ideal"],
      })
    )
    expect(error.param).toBe("capture_method")
  })

  it("keeps SEPA Direct Debit processing until the bank settles it", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "eur",
      payment_method_types: ["sepa_debit"],
    })
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_sepa_debit",
    })
    expect(confirmed.status).toBe("processing")
    expect(eventTypesFor(intent.id)).toContain("payment_intent.processing")
    const settled = await emu.settleProcessing(intent.id, { succeed: true })
    expect(settled).toMatchObject({ status: "succeeded", amount_received: 2000 })
    const charge = await stripe.charges.retrieve(String(settled.latest_charge))
    expect(charge).toMatchObject({ status: "succeeded", paid: true })
  })

  it("fails a SEPA debit the bank rejects", async () => {
    const method = await stripe.paymentMethods.create({
      type: "sepa_debit",
      sepa_debit: { iban: "DE62370400440532013001" },
    })
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "eur",
      payment_method_types: ["sepa_debit"],
      payment_method: method.id,
      confirm: true,
    })
    expect(intent.status).toBe("processing")
    const failed = await emu.settleProcessing(intent.id)
    expect(failed.status).toBe("requires_payment_method")
    expect(failed.last_payment_error?.code).toBe("insufficient_funds")
    expect(eventTypesFor(intent.id)).toContain("payment_intent.payment_failed")
  })

  it("refuses to cancel a processing debit", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "eur",
      payment_method_types: ["sepa_debit"],
      payment_method: "pm_sepa_debit",
      confirm: true,
    })
    const error = await stripeError(() => stripe.paymentIntents.cancel(intent.id))
    expect(error.code).toBe("payment_intent_unexpected_state")
  })

  it("takes new payment_method_types at confirmation", async () => {
    const intent = await cardIntent()
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method_types: ["ideal"],
      payment_method: "pm_ideal",
      return_url: "https://shop.example/return",
    })
    expect(confirmed).toMatchObject({ status: "requires_action", payment_method_types: ["ideal"] })
  })

  it("refuses a payment method type the intent does not allow", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() =>
      stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_ideal" })
    )
    expect(error).toMatchObject({ statusCode: 400, param: "payment_method" })
  })
})

describe("PaymentIntent capture", () => {
  it("captures the full amount by default", async () => {
    const intent = await cardIntent({
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const captured = await stripe.paymentIntents.capture(intent.id)
    expect(captured).toMatchObject({
      status: "succeeded",
      amount_received: 2500,
      amount_capturable: 0,
    })
    const charge = await stripe.charges.retrieve(String(captured.latest_charge))
    expect(charge).toMatchObject({ captured: true, amount_captured: 2500 })
    expect(eventTypesFor(charge.id)).toEqual(["charge.succeeded", "charge.captured"])
  })

  it("captures part of the amount and releases the rest", async () => {
    const intent = await cardIntent({
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1000 })
    expect(captured).toMatchObject({
      status: "succeeded",
      amount_received: 1000,
      amount_capturable: 0,
    })
  })

  it("refuses to capture more than amount_capturable", async () => {
    const intent = await cardIntent({
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const error = await stripeError(() =>
      stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2501 })
    )
    expect(error).toMatchObject({ code: "amount_too_large", param: "amount_to_capture" })
  })

  it("refuses to capture an intent that is not requires_capture", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() => stripe.paymentIntents.capture(intent.id))
    expect(error).toMatchObject({
      statusCode: 400,
      code: "payment_intent_unexpected_state",
      message:
        "This PaymentIntent could not be captured because it has a status of requires_payment_method. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
    })
    expect(error.payment_intent?.id).toBe(intent.id)
  })
})

describe("PaymentIntent cancel", () => {
  it("cancels with a reason", async () => {
    const intent = await cardIntent()
    const canceled = await stripe.paymentIntents.cancel(intent.id, {
      cancellation_reason: "requested_by_customer",
    })
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_reason: "requested_by_customer",
    })
    expect(canceled.canceled_at).toEqual(expect.any(Number))
    expect(eventTypesFor(intent.id)).toContain("payment_intent.canceled")
  })

  it("releases an authorization when an uncaptured intent is canceled", async () => {
    const intent = await cardIntent({
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const canceled = await stripe.paymentIntents.cancel(intent.id)
    expect(canceled.amount_capturable).toBe(0)
    const charge = await stripe.charges.retrieve(String(canceled.latest_charge))
    expect(charge).toMatchObject({ captured: false, refunded: true, amount_refunded: 2500 })
  })

  it.each(["succeeded", "canceled"])(
    "refuses to cancel a %s intent with Stripe's message",
    async (status) => {
      const intent =
        status === "succeeded"
          ? await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
          : await stripe.paymentIntents.cancel((await cardIntent()).id)
      const error = await stripeError(() => stripe.paymentIntents.cancel(intent.id))
      expect(error).toMatchObject({
        statusCode: 400,
        code: "payment_intent_unexpected_state",
        message: `You cannot cancel this PaymentIntent because it has a status of ${status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`,
      })
    }
  )
})

describe("PaymentIntent update", () => {
  it("changes amount, currency, metadata and description while unconfirmed", async () => {
    const intent = await cardIntent({ metadata: { a: "1", b: "2" } })
    const updated = await stripe.paymentIntents.update(intent.id, {
      amount: 3000,
      currency: "usd",
      description: "changed",
      metadata: { a: "", c: "3" },
    })
    expect(updated).toMatchObject({
      amount: 3000,
      currency: "usd",
      description: "changed",
      metadata: { b: "2", c: "3" },
    })
  })

  it("moves to requires_confirmation when a payment method is set", async () => {
    const intent = await cardIntent()
    const updated = await stripe.paymentIntents.update(intent.id, {
      payment_method: "pm_card_visa",
    })
    expect(updated.status).toBe("requires_confirmation")
    const confirmed = await stripe.paymentIntents.confirm(intent.id)
    expect(confirmed.status).toBe("succeeded")
  })

  it("refuses an amount change after confirmation with payment_intent_unexpected_state", async () => {
    const intent = await cardIntent({
      capture_method: "manual",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const error = await stripeError(() => stripe.paymentIntents.update(intent.id, { amount: 100 }))
    expect(error).toMatchObject({
      statusCode: 400,
      code: "payment_intent_unexpected_state",
      param: "amount",
    })
  })

  it("still takes metadata after success", async () => {
    const intent = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    const updated = await stripe.paymentIntents.update(intent.id, {
      metadata: { order_id: "order_1" },
    })
    expect(updated.metadata).toEqual({ order_id: "order_1" })
  })

  it("checks the minimum on a new amount", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() => stripe.paymentIntents.update(intent.id, { amount: 10 }))
    expect(error.code).toBe("amount_too_small")
  })
})

describe("PaymentIntent retrieve, list and search", () => {
  it("expands latest_charge and payment_method", async () => {
    const intent = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    const expanded = await stripe.paymentIntents.retrieve(intent.id, {
      expand: ["latest_charge", "payment_method"],
    })
    expect((expanded.latest_charge as Stripe.Charge).object).toBe("charge")
    expect((expanded.payment_method as Stripe.PaymentMethod).object).toBe("payment_method")
    const plain = await stripe.paymentIntents.retrieve(intent.id)
    expect(typeof plain.latest_charge).toBe("string")
  })

  it("expands nested paths such as latest_charge.balance_transaction", async () => {
    const intent = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    const expanded = await stripe.paymentIntents.retrieve(intent.id, {
      expand: ["latest_charge.balance_transaction"],
    })
    const charge = expanded.latest_charge as Stripe.Charge
    expect((charge.balance_transaction as Stripe.BalanceTransaction).object).toBe(
      "balance_transaction"
    )
  })

  it("refuses to expand a field that is not expandable", async () => {
    const intent = await cardIntent()
    const error = await stripeError(() =>
      stripe.paymentIntents.retrieve(intent.id, { expand: ["currency"] })
    )
    expect(error.message).toBe("This property cannot be expanded (currency).")
  })

  it("answers 404 resource_missing for an unknown id", async () => {
    const error = await stripeError(() => stripe.paymentIntents.retrieve("pi_doesnotexist"))
    expect(error).toMatchObject({
      statusCode: 404,
      code: "resource_missing",
      param: "id",
      message: "No such payment_intent: 'pi_doesnotexist'",
    })
  })

  it("lists newest first, filtered by customer, with pagination", async () => {
    const customer = await stripe.customers.create({ email: "list@example.com" })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await cardIntent({ customer: customer.id })).id)
    const page = await stripe.paymentIntents.list({ customer: customer.id, limit: 2 })
    expect(page.data.map((intent) => intent.id)).toEqual([ids[2], ids[1]])
    expect(page.has_more).toBe(true)
    const next = await stripe.paymentIntents.list({
      customer: customer.id,
      limit: 2,
      starting_after: ids[1],
    })
    expect(next.data.map((intent) => intent.id)).toEqual([ids[0]])
    expect(next.has_more).toBe(false)
    const all = await stripe.paymentIntents
      .list({ customer: customer.id })
      .autoPagingToArray({ limit: 10 })
    expect(all).toHaveLength(3)
  })

  it("searches by metadata", async () => {
    const intent = await cardIntent({ metadata: { cart_id: "cart_search_me" } })
    const result = await stripe.paymentIntents.search({
      query: "metadata['cart_id']:'cart_search_me'",
    })
    expect(result.object).toBe("search_result")
    expect(result.data.map((found) => found.id)).toEqual([intent.id])
    const none = await stripe.paymentIntents.search({
      query: "metadata['cart_id']:'cart_search_me' AND status:'succeeded'",
    })
    expect(none.data).toHaveLength(0)
  })

  it("rejects a malformed search query", async () => {
    const error = await stripeError(() => stripe.paymentIntents.search({ query: "nonsense" }))
    expect(error).toMatchObject({ statusCode: 400, param: "query" })
  })
})

describe("Test payment methods", () => {
  it("retrieves test ids such as pm_card_visa", async () => {
    const method = await stripe.paymentMethods.retrieve("pm_card_visa")
    expect(method).toMatchObject({
      id: "pm_card_visa",
      type: "card",
      card: { brand: "visa", last4: "4242" },
    })
  })

  it("copies a test id into a new PaymentMethod each time it pays", async () => {
    const first = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    const second = await cardIntent({ confirm: true, payment_method: "pm_card_visa" })
    expect(first.payment_method).not.toEqual(second.payment_method)
    const method = await stripe.paymentMethods.retrieve(String(first.payment_method))
    expect(method.card?.last4).toBe("4242")
  })

  it("keeps a PaymentMethod saved with setup_future_usage on the customer", async () => {
    const customer = await stripe.customers.create({ email: "save@example.com" })
    const intent = await cardIntent({
      customer: customer.id,
      setup_future_usage: "off_session",
      confirm: true,
      payment_method: "pm_card_visa",
    })
    const saved = await stripe.paymentMethods.retrieve(String(intent.payment_method))
    expect(saved.customer).toBe(customer.id)
  })
})
