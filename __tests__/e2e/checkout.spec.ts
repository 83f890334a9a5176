import type Stripe from "stripe"
import {
  bootE2E,
  checkout,
  completeCart,
  emulatorOf,
  getCart,
  waitFor,
  ApiClient,
  withVariantOutOfStock,
  type Cart,
  type E2E,
  type Order,
} from "../support"

const E2E_TIMEOUT = 120_000

describe("checkout through a real Medusa backend", () => {
  let e2e: E2E

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, webhooks: false })
  }, E2E_TIMEOUT)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  const emulator = () => emulatorOf(e2e)

  const intentIdOf = (cart: Cart): string => {
    const id = cart.payment_session?.data.id
    if (typeof id !== "string") throw new Error(`Cart ${cart.id} has no Stripe payment session`)
    return id
  }

  const intentsForCart = (cartId: string): Stripe.PaymentIntent[] =>
    emulator()
      .paymentIntents()
      .filter((intent) => intent.metadata.cart_id === cartId)

  const expectOrder = (response: Awaited<ReturnType<typeof completeCart>>): Order => {
    if (response.type !== "order") {
      throw new Error(`Expected an order, got ${response.type}: ${JSON.stringify(response.data)}`)
    }
    return response.data
  }

  const paidOrder = async (store: ApiClient = e2e.store, region = "eur"): Promise<Order> => {
    const cart = await checkout(store, { region, provider: "stripe" })
    await emulator().confirmPaymentIntent(intentIdOf(cart), { payment_method: "pm_card_visa" })
    return expectOrder(await completeCart(store, cart.id))
  }

  const paymentRow = (orderId: string) =>
    e2e.db.one<{
      amount: number
      amount_refunded: number
      captured_at: Date | null
      data: { id: string }
    }>(`SELECT amount, amount_refunded, captured_at, data FROM payment WHERE order_id = $1`, [
      orderId,
    ])

  describe("a card checkout with manual capture", () => {
    let order: Order

    it("authorizes at checkout and leaves the capture to the merchant", async () => {
      order = await paidOrder()
      expect(order.payment_status).toBe("awaiting")
      const payment = await paymentRow(order.id)
      const intent = emulator().paymentIntent(payment?.data.id as string)
      expect(intent).toMatchObject({
        status: "requires_capture",
        amount: order.total,
        currency: "eur",
        capture_method: "manual",
      })
      expect(intentsForCart(order.cart_id)).toHaveLength(1)
    })

    it("completes the cart with a single Stripe call", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      await emulator().confirmPaymentIntent(intentIdOf(cart), { payment_method: "pm_card_visa" })
      emulator().resetCounters()
      expectOrder(await completeCart(e2e.store, cart.id))
      expect(emulator().counters()).toEqual({ "GET /v1/payment_intents/:id": 1 })
    })

    it("captures the whole amount from the admin", async () => {
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      const payment = await paymentRow(order.id)
      expect(payment?.captured_at).not.toBeNull()
      expect(emulator().paymentIntent(payment?.data.id as string)).toMatchObject({
        status: "succeeded",
        amount_received: order.total,
      })
    })

    it("refunds part of the order", async () => {
      await e2e.admin.post(`/admin/orders/${order.id}/refund`, { amount: 500, reason: "discount" })
      const payment = await paymentRow(order.id)
      expect(payment?.amount_refunded).toBe(500)
      expect(
        emulator()
          .refunds()
          .filter((refund) => refund.payment_intent === payment?.data.id)
      ).toMatchObject([{ amount: 500, status: "succeeded" }])
    })

    it("refunds the rest", async () => {
      const rest = (order.total as number) - 500
      await e2e.admin.post(`/admin/orders/${order.id}/refund`, { amount: rest, reason: "return" })
      const payment = await paymentRow(order.id)
      expect(payment?.amount_refunded).toBe(order.total)
      const refunds = emulator()
        .refunds()
        .filter((refund) => refund.payment_intent === payment?.data.id)
      expect(refunds.map((refund) => refund.amount).sort((a, b) => a - b)).toEqual(
        [500, rest].sort((a, b) => a - b)
      )
    })

    it("refuses to refund more than was paid, and changes nothing", async () => {
      const other = await paidOrder()
      await e2e.admin.post(`/admin/orders/${other.id}/capture`)
      const response = await e2e.admin.request("POST", `/admin/orders/${other.id}/refund`, {
        amount: (other.total as number) + 1,
        reason: "other",
      })
      expect(response.ok).toBe(false)
      expect((await paymentRow(other.id))?.amount_refunded).toBe(0)
    })
  })

  describe("3-D Secure", () => {
    it("answers requires_more until the challenge is passed, then completes", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const intentId = intentIdOf(cart)
      await emulator().confirmPaymentIntent(intentId, {
        payment_method: "pm_card_threeDSecure2Required",
      })
      const pending = await completeCart(e2e.store, cart.id)
      expect(pending.type).toBe("cart")
      expect((pending as { payment_status?: string }).payment_status).toBe("requires_more")

      await emulator().completeAction(intentId)
      const order = expectOrder(await completeCart(e2e.store, cart.id))
      expect(order.cart_id).toBe(cart.id)
    })
  })

  describe("a declined card", () => {
    it("gives the shopper Stripe's reason and keeps the cart usable for another card", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const intentId = intentIdOf(cart)
      await emulator().confirmPaymentIntent(intentId, {
        payment_method: "pm_card_chargeDeclinedInsufficientFunds",
      })
      const declined = await e2e.store.request("POST", `/store/carts/${cart.id}/complete`)
      expect(declined.ok).toBe(false)
      expect(JSON.stringify(declined.body)).toMatch(/insufficient funds/i)
      expect((await getCart(e2e.store, cart.id)).completed_at).toBeNull()

      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const order = expectOrder(await completeCart(e2e.store, cart.id))
      expect(order.cart_id).toBe(cart.id)
      expect(intentsForCart(cart.id)).toHaveLength(1)
    })
  })

  describe("cart changes after the intent exists", () => {
    it("follows the new total on the same intent", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const intentId = intentIdOf(cart)
      const item = cart.items[0]
      await e2e.store.post(`/store/carts/${cart.id}/line-items/${item.id}`, { quantity: 3 })
      const updated = await getCart(e2e.store, cart.id)
      expect(intentIdOf(updated)).toBe(intentId)
      expect(emulator().paymentIntent(intentId)?.amount).toBe(updated.total)
      expect(intentsForCart(cart.id)).toHaveLength(1)
    })

    it("follows a change of region and currency without orphaning an intent", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const { regions } = await e2e.store.get<{
        regions: Array<{ id: string; currency_code: string }>
      }>("/store/regions")
      const usd = regions.find((region) => region.currency_code === "usd")
      await e2e.store.post(`/store/carts/${cart.id}`, { region_id: usd?.id })
      await e2e.store.post(`/store/carts/${cart.id}/payment-sessions`)
      const moved = await e2e.store.post<{ cart: Cart }>(
        `/store/carts/${cart.id}/payment-session`,
        {
          provider_id: "stripe",
        }
      )
      const current = emulator().paymentIntent(intentIdOf(moved.cart))
      expect(current).toMatchObject({ currency: "usd", amount: moved.cart.total })
      // Medusa drops the old sessions without the provider; the plugin cancels their intents.
      await waitFor(
        () =>
          intentsForCart(cart.id).every(
            (intent) => intent.id === current?.id || intent.status === "canceled"
          ),
        { timeoutMs: 5000, description: "the intents of dropped sessions are canceled" }
      )
      expect(intentsForCart(cart.id).length).toBeGreaterThan(1)
    })

    it("refuses to complete when the intent was tampered to another amount", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const intentId = intentIdOf(cart)
      const tampered = await e2e.store.request(
        "POST",
        `/store/carts/${cart.id}/payment-sessions/stripe`,
        { data: { amount: 1, id: "pi_someoneelses" } }
      )
      expect(tampered.ok).toBe(false)
      const after = await getCart(e2e.store, cart.id)
      expect(intentIdOf(after)).toBe(intentId)
      expect(after.payment_session?.data.amount).toBe(cart.total)
    })
  })

  describe("customers", () => {
    const register = async (email: string): Promise<ApiClient> => {
      await e2e.store.post("/store/customers", {
        email,
        password: "secret-password",
        first_name: "Grace",
        last_name: "Hopper",
      })
      const { access_token } = await e2e.store.post<{ access_token: string }>("/store/auth/token", {
        email,
        password: "secret-password",
      })
      return new ApiClient(e2e.backend.url, { Authorization: `Bearer ${access_token}` })
    }

    it("creates the Stripe customer once and reuses it on the next order", async () => {
      const email = `grace.${Date.now()}@example.com`
      const shopper = await register(email)
      const first = await paidOrder(shopper)
      const second = await paidOrder(shopper)
      const customers = emulator()
        .customers()
        .filter((customer) => !customer.deleted && customer.email === email)
      expect(customers).toHaveLength(1)
      const stripeIds = [first, second].map((order) => intentsForCart(order.cart_id)[0]?.customer)
      expect(stripeIds).toEqual([customers[0].id, customers[0].id])
      const row = await e2e.db.one<{ metadata: { stripe_id?: string } }>(
        "SELECT metadata FROM customer WHERE email = $1 AND has_account = true",
        [email]
      )
      expect(row?.metadata.stripe_id).toBe(customers[0].id)
    })

    it("checks a guest out with a Stripe customer made from the email", async () => {
      const email = `guest.${Date.now()}@example.com`
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe", email })
      const intent = emulator().paymentIntent(intentIdOf(cart))
      const customer = emulator()
        .customers()
        .find((entry) => entry.id === intent?.customer)
      expect(customer && !customer.deleted && customer.email).toBe(email)
    })
  })

  describe("canceling", () => {
    it("refunds the shopper when an order is canceled after capture", async () => {
      const order = await paidOrder()
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      await e2e.admin.post(`/admin/orders/${order.id}/cancel`)
      const payment = await paymentRow(order.id)
      const refunds = emulator()
        .refunds()
        .filter((refund) => refund.payment_intent === payment?.data.id)
      expect(refunds.map((refund) => refund.amount)).toEqual([order.total])
    })

    it("releases the authorization when an order is canceled before capture", async () => {
      const order = await paidOrder()
      await e2e.admin.post(`/admin/orders/${order.id}/cancel`)
      const payment = await paymentRow(order.id)
      expect(emulator().paymentIntent(payment?.data.id as string)?.status).toBe("canceled")
    })
  })

  describe("out of stock at completion", () => {
    it("leaves no charge behind", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
      const intentId = intentIdOf(cart)
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const variantId = cart.items[0].variant_id
      await withVariantOutOfStock(e2e, variantId, async () => {
        const response = await e2e.store.request("POST", `/store/carts/${cart.id}/complete`)
        expect(response.status).toBe(409)
        expect(emulator().paymentIntent(intentId)?.status).toBe("canceled")
        expect(
          emulator()
            .charges()
            .some((charge) => charge.payment_intent === intentId && charge.captured)
        ).toBe(false)
      })
    })
  })

  describe("local payment methods", () => {
    it.each([
      ["stripe-ideal", "pm_ideal"],
      ["stripe-bancontact", "pm_bancontact"],
      ["stripe-przelewy24", "pm_p24"],
      ["stripe-klarna", "pm_klarna"],
    ])(
      "completes %s after the shopper returns from the redirect",
      async (provider, paymentMethod) => {
        const cart = await checkout(e2e.store, { region: "eur", provider })
        const intentId = intentIdOf(cart)
        await emulator().confirmPaymentIntent(intentId, {
          payment_method: paymentMethod,
          return_url: "http://localhost:8000/checkout",
        })
        const redirected = await completeCart(e2e.store, cart.id)
        expect(redirected.type).toBe("cart")
        await emulator().completeAction(intentId)
        const order = expectOrder(await completeCart(e2e.store, cart.id))
        expect(order.payments[0]?.provider_id ?? provider).toBe(provider)
      }
    )

    it("completes SEPA Direct Debit once the debit settles", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe-sepa-debit" })
      const intentId = intentIdOf(cart)
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_sepa_debit" })
      const processing = await completeCart(e2e.store, cart.id)
      expect(processing.type).toBe("cart")
      await emulator().settleProcessing(intentId, { succeed: true })
      expectOrder(await completeCart(e2e.store, cart.id))
    })
  })

  describe("BLIK in the Poland region", () => {
    let cart: Cart
    let intentId: string
    let order: Order

    it("offers BLIK in PLN and hands the storefront a client secret for a PLN intent", async () => {
      cart = await checkout(e2e.store, { region: "pln", provider: "stripe-blik" })
      intentId = intentIdOf(cart)
      expect(cart.payment_session?.provider_id).toBe("stripe-blik")
      expect(cart.payment_session?.data.client_secret).toMatch(new RegExp(`^${intentId}_secret_`))
      expect(emulator().paymentIntent(intentId)).toMatchObject({
        amount: cart.total,
        currency: "pln",
        payment_method_types: ["blik"],
        capture_method: "automatic",
        status: "requires_payment_method",
        metadata: expect.objectContaining({ resource_id: cart.id, cart_id: cart.id }),
      })
    })

    it("waits while the shopper has not approved the payment in the bank app", async () => {
      const confirmed = await emulator().confirmPaymentIntent(intentId, {
        payment_method: "pm_blik",
      })
      expect(confirmed).toMatchObject({
        status: "requires_action",
        next_action: { type: "blik_authorize" },
      })
      const pending = await completeCart(e2e.store, cart.id)
      expect(pending.type).toBe("cart")
      expect((pending as { payment_status?: string }).payment_status).toBe("requires_more")
      expect((await getCart(e2e.store, cart.id)).completed_at).toBeNull()
    })

    it("places the order once the shopper approves, with Stripe holding the whole amount in grosze", async () => {
      await emulator().completeAction(intentId)
      order = expectOrder(await completeCart(e2e.store, cart.id))
      expect(order).toMatchObject({ currency_code: "pln", total: 10_900 + 1_500 })
      const payment = await paymentRow(order.id)
      expect(payment).toMatchObject({
        amount: order.total,
        data: expect.objectContaining({ id: intentId, status: "succeeded", currency: "pln" }),
      })
      // PLN has two decimals in Medusa and in Stripe: 124.00 zl is 12400 grosze on both sides.
      expect(emulator().paymentIntent(intentId)).toMatchObject({
        status: "succeeded",
        amount: order.total,
        amount_received: order.total,
        currency: "pln",
      })
      const charges = emulator()
        .charges()
        .filter((charge) => charge.payment_intent === intentId)
      expect(charges).toMatchObject([{ amount: order.total, captured: true, currency: "pln" }])
      expect(intentsForCart(cart.id)).toHaveLength(1)
    })

    it("records the capture Stripe already made without asking Stripe to capture again", async () => {
      emulator().resetCounters()
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      expect((await paymentRow(order.id))?.captured_at).not.toBeNull()
      const { order: captured } = await e2e.admin.get<{ order: Order }>(`/admin/orders/${order.id}`)
      expect(captured.payment_status).toBe("captured")
      expect(emulator().counters()["POST /v1/payment_intents/:id/capture"]).toBeUndefined()
    })

    it("is not offered in the EUR region, whose currency BLIK cannot charge", async () => {
      const euro = await checkout(e2e.store, { region: "eur", provider: null })
      const providers = euro.payment_sessions.map((session) => session.provider_id)
      expect(providers).not.toContain("stripe-blik")
      const refused = await e2e.store.request("POST", `/store/carts/${euro.id}/payment-session`, {
        provider_id: "stripe-blik",
      })
      expect(refused.ok).toBe(false)
    })
  })

  describe("zero-decimal currencies", () => {
    it("charges yen in whole yen", async () => {
      const order = await paidOrder(e2e.store, "jpy")
      const payment = await paymentRow(order.id)
      expect(emulator().paymentIntent(payment?.data.id as string)).toMatchObject({
        currency: "jpy",
        amount: order.total,
      })
    })
  })

  describe("GET /admin/stripe/orders/:id/payments", () => {
    it("shows the admin what Stripe knows about the order's payment", async () => {
      const order = await paidOrder()
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      await e2e.admin.post(`/admin/orders/${order.id}/refund`, { amount: 700, reason: "other" })
      const { payments } = await e2e.admin.get<{ payments: Array<Record<string, unknown>> }>(
        `/admin/stripe/orders/${order.id}/payments`
      )
      const intentId = (await paymentRow(order.id))?.data.id
      expect(payments).toHaveLength(1)
      expect(payments[0]).toMatchObject({
        provider_id: "stripe",
        payment_intent_id: intentId,
        dashboard_url: `https://dashboard.stripe.com/test/payments/${intentId}`,
        status: "succeeded",
        amount_captured: order.total,
        amount_refunded: 700,
        payment_method: { type: "card", brand: "visa", last4: "4242" },
        refunds: [expect.objectContaining({ amount: 700, made_outside_medusa: false })],
      })
    })

    it("answers 401 without an admin session", async () => {
      const order = await paidOrder()
      const response = await e2e.store.request("GET", `/admin/stripe/orders/${order.id}/payments`)
      expect(response.status).toBe(401)
    })

    it("answers 404 for an unknown order", async () => {
      const response = await e2e.admin.request("GET", "/admin/stripe/orders/order_missing/payments")
      expect(response.status).toBe(404)
    })
  })

  it("never sends the secret key to the storefront", async () => {
    const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
    expect(JSON.stringify(cart)).not.toContain(e2e.secrets.apiKey)
  })
})
