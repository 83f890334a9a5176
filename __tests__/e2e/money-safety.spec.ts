import type Stripe from "stripe"
import {
  bootE2E,
  checkout,
  completeCart,
  emulatorOf,
  findVariantIds,
  getCart,
  intentIdOf,
  selectPaymentProvider,
  withVariantOutOfStock,
  type Cart,
  type E2E,
  type Order,
  type PaymentSession,
} from "../support"

jest.setTimeout(120_000)

interface PaymentCollection {
  id: string
  amount: number
  payment_sessions: PaymentSession[]
}

interface PaymentRow {
  id: string
  amount: number
  captured_at: Date | null
  canceled_at: Date | null
  data: { id: string }
}

/**
 * Histories a shopper (or an attacker holding a cart id) can drive through the Store API, in
 * which Medusa's books and Stripe's once drifted apart. Webhooks are off: every step is the
 * storefront's or the admin's.
 */
describe("money safety through a real Medusa backend", () => {
  let e2e: E2E

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, webhooks: false })
  }, 180_000)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  const emulator = () => emulatorOf(e2e)

  const expectOrder = (response: Awaited<ReturnType<typeof completeCart>>): Order => {
    if (response.type !== "order") {
      throw new Error(`Expected an order, got ${response.type}: ${JSON.stringify(response.data)}`)
    }
    return response.data
  }

  /** The shopper pays by card (or by iDEAL, returning from the bank) and completes. */
  const pay = async (cart: Cart): Promise<void> => {
    const intentId = intentIdOf(cart.payment_session)
    if (cart.payment_session?.provider_id === "stripe-ideal") {
      await emulator().confirmPaymentIntent(intentId, {
        payment_method: "pm_ideal",
        return_url: "https://shop.example/checkout",
      })
      await emulator().completeAction(intentId)
    } else {
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
    }
  }

  const paidOrder = async (provider: string): Promise<{ cart: Cart; order: Order }> => {
    const cart = await checkout(e2e.store, { region: "eur", provider })
    await pay(cart)
    return { cart, order: expectOrder(await completeCart(e2e.store, cart.id)) }
  }

  const paymentsOfOrder = (orderId: string) =>
    e2e.db.query<PaymentRow>(
      `SELECT id, amount, captured_at, canceled_at, data FROM payment WHERE order_id = $1
       ORDER BY created_at`,
      [orderId]
    )

  const refundsOf = (intentId: string): Stripe.Refund[] =>
    emulator()
      .refunds()
      .filter((refund) => refund.payment_intent === intentId)

  describe("a placed order's payment, from the Store API", () => {
    it.each([
      ["authorized for a later capture", "stripe", "requires_capture"],
      ["captured at once (iDEAL)", "stripe-ideal", "succeeded"],
    ])(
      "is neither released nor refunded by deleting the completed cart's session (%s)",
      async (_name, provider, status) => {
        const { cart, order } = await paidOrder(provider)
        const intentId = intentIdOf(cart.payment_session)

        const deleted = await e2e.store.request(
          "DELETE",
          `/store/carts/${cart.id}/payment-sessions/${provider}`
        )
        const switched = await e2e.store.request(
          "POST",
          `/store/carts/${cart.id}/payment-session`,
          { provider_id: "manual" }
        )
        const refreshed = await e2e.store.request(
          "POST",
          `/store/carts/${cart.id}/payment-sessions/${provider}/refresh`
        )

        for (const response of [deleted, switched, refreshed]) {
          expect(response.status).toBe(409)
          expect(response.body).toMatchObject({ code: "cart_completed" })
        }
        expect(emulator().paymentIntent(intentId)?.status).toBe(status)
        expect(refundsOf(intentId)).toHaveLength(0)
        const [payment] = await paymentsOfOrder(order.id)
        expect(payment.canceled_at).toBeNull()
        if (provider === "stripe") {
          // The admin's capture still finds the authorization.
          await e2e.admin.post(`/admin/orders/${order.id}/capture`)
          expect(emulator().paymentIntent(intentId)?.amount_received).toBe(order.total)
        }
      }
    )
  })

  describe("an iDEAL payment given back when the shopper switched providers", () => {
    it("never completes a new order when the shopper switches back", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe-ideal" })
      const paidIntent = intentIdOf(cart.payment_session)
      await pay(cart)

      // The shopper drops the iDEAL session: its money goes back, as nothing was ordered.
      await e2e.store.delete(`/store/carts/${cart.id}/payment-sessions/stripe-ideal`)
      expect(refundsOf(paidIntent).map((refund) => refund.amount)).toEqual([cart.total])

      // ... and comes back to iDEAL.
      await e2e.store.post(`/store/carts/${cart.id}/payment-sessions`)
      const back = await selectPaymentProvider(e2e.store, cart.id, "stripe-ideal")
      const newIntent = intentIdOf(back.payment_session)
      expect(newIntent).not.toBe(paidIntent)
      expect(emulator().paymentIntent(newIntent)?.status).toBe("requires_payment_method")

      const completion = await completeCart(e2e.store, cart.id)
      expect(completion.type).toBe("cart")
      expect(await e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [cart.id])).toBe(
        0
      )
    })
  })

  describe("an iDEAL payment refunded because the completion ran out of stock", () => {
    it("does not place the order on the refunded money once the stock returns", async () => {
      const variants = await findVariantIds(e2e.store)
      const variantId = variants[variants.length - 1]
      const cart = await checkout(e2e.store, {
        region: "eur",
        provider: "stripe-ideal",
        variantId,
      })
      const intentId = intentIdOf(cart.payment_session)
      await pay(cart)
      await withVariantOutOfStock(e2e, variantId, async () => {
        const outOfStock = await e2e.store.request("POST", `/store/carts/${cart.id}/complete`)
        expect(outOfStock.status).toBe(409)
        expect(refundsOf(intentId).map((refund) => refund.amount)).toEqual([cart.total])
      })

      const again = await e2e.store.request("POST", `/store/carts/${cart.id}/complete`)

      expect(again.ok).toBe(false)
      expect(JSON.stringify(again.body)).toContain("payment_no_longer_held")
      expect(await e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [cart.id])).toBe(
        0
      )
    })
  })

  describe("a cart total going A -> B -> C -> B before the shopper pays", () => {
    it("charges B and places the order", async () => {
      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe", quantity: 1 })
      const lineId = (await getCart(e2e.store, cart.id)).items[0].id
      for (const quantity of [2, 3, 2]) {
        await e2e.store.post(`/store/carts/${cart.id}/line-items/${lineId}`, { quantity })
      }
      const atB = await getCart(e2e.store, cart.id)
      const intentId = intentIdOf(atB.payment_session)
      expect(emulator().paymentIntent(intentId)?.amount).toBe(atB.total)

      await pay(atB)
      const order = expectOrder(await completeCart(e2e.store, cart.id))
      expect(order.total).toBe(atB.total)
      expect(emulator().paymentIntent(intentId)?.amount_capturable).toBe(order.total)
    })
  })

  describe("an order edit paid with two Stripe sessions of equal amounts", () => {
    it("books each payment on its own intent, and captures what each holds", async () => {
      const { order } = await paidOrder("stripe")
      const { order_edit: created } = await e2e.admin.post<{ order_edit: { id: string } }>(
        "/admin/order-edits",
        { order_id: order.id }
      )
      const [variantId] = await findVariantIds(e2e.store)
      await e2e.admin.post(`/admin/order-edits/${created.id}/items`, {
        variant_id: variantId,
        quantity: 2,
      })
      const { order_edit: edit } = await e2e.admin.post<{
        order_edit: { id: string; difference_due: number; payment_collection_id: string }
      }>(`/admin/order-edits/${created.id}/request`, {})
      const half = edit.difference_due / 2
      expect(Number.isInteger(half)).toBe(true)

      const { payment_collection: collection } = await e2e.store.post<{
        payment_collection: PaymentCollection
      }>(`/store/payment-collections/${edit.payment_collection_id}/sessions/batch`, {
        sessions: [
          { provider_id: "stripe", amount: half },
          { provider_id: "stripe", amount: half },
        ],
      })
      const intents = collection.payment_sessions.map((session) => intentIdOf(session))
      expect(new Set(intents).size).toBe(2)
      for (const intentId of intents) {
        await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      }
      await e2e.store.post(`/store/payment-collections/${collection.id}/sessions/batch/authorize`, {
        session_ids: collection.payment_sessions.map((session) => session.id),
      })
      await e2e.store.post(`/store/order-edits/${edit.id}/complete`)
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)

      const payments = await paymentsOfOrder(order.id)
      const editPayments = payments.filter((payment) => intents.includes(payment.data.id))
      expect(editPayments.map((payment) => payment.amount)).toEqual([half, half])
      const received = intents.map((id) => emulator().paymentIntent(id)?.amount_received)
      expect(received).toEqual([half, half])
    })
  })

  describe("a returning shopper whose recorded Stripe customer no longer exists", () => {
    it("checks out with a new Stripe customer, recorded for the key's mode", async () => {
      const email = `returning-${Date.now()}@example.com`
      const first = await checkout(e2e.store, { region: "eur", provider: "stripe", email })
      const customerId = first.customer_id as string
      // The customer was deleted in the Stripe dashboard.
      await e2e.admin.post(`/admin/customers/${customerId}`, {
        metadata: { stripe_id: "cus_deletedindashboard", stripe_id_test: "cus_deletedindashboard" },
      })

      const cart = await checkout(e2e.store, { region: "eur", provider: "stripe", email })
      await pay(cart)
      const order = expectOrder(await completeCart(e2e.store, cart.id))

      const intent = emulator().paymentIntent(intentIdOf(cart.payment_session))
      expect(intent?.customer).toMatch(/^cus_/)
      expect(intent?.customer).not.toBe("cus_deletedindashboard")
      const customer = await e2e.db.one<{ metadata: Record<string, string> }>(
        `SELECT metadata FROM customer WHERE id = $1`,
        [customerId]
      )
      expect(customer?.metadata).toMatchObject({
        stripe_id: intent?.customer,
        stripe_id_test: intent?.customer,
      })
      expect(order.customer_id).toBe(customerId)
    })
  })
})
