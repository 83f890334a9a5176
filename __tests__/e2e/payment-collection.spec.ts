import type Stripe from "stripe"
import {
  bootE2E,
  emulatorOf,
  checkout,
  completeCart,
  findVariantId,
  waitFor,
  type Cart,
  type E2E,
  type Order,
  type PaymentSession,
} from "../support"

const E2E_TIMEOUT = 180_000

jest.setTimeout(120_000)

interface PaymentCollection {
  id: string
  type: string
  status: string
  amount: number
  authorized_amount: number | null
  currency_code: string
  payment_sessions: PaymentSession[]
  [key: string]: unknown
}

interface OrderEdit {
  id: string
  order_id: string
  status: string
  difference_due: number
  payment_collection_id: string | null
  payment_collection?: PaymentCollection | null
  [key: string]: unknown
}

interface CollectionRow {
  status: string
  amount: number
  authorized_amount: number | null
  currency_code: string
}

interface PaymentRow {
  id: string
  provider_id: string
  amount: number
  currency_code: string
  order_id: string | null
  cart_id: string | null
  captured_at: Date | null
  canceled_at: Date | null
  data: { id: string; status: string }
}

describe("payment collections: an order edit's difference paid with Stripe", () => {
  let e2e: E2E

  beforeAll(async () => {
    // The emulator delivers every event to the backend's webhook route, as Stripe would.
    e2e = await bootE2E({ emulator: true })
  }, E2E_TIMEOUT)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  const emulator = () => emulatorOf(e2e)

  // -------------------------------------------------------------------------------------------
  // Helpers

  const intentIdOf = (session: { data: Record<string, unknown> } | null | undefined): string => {
    const id = session?.data.id
    if (typeof id !== "string") throw new Error("The payment session holds no PaymentIntent")
    return id
  }

  /** A card order, authorized at checkout (manual capture). */
  const paidOrder = async (): Promise<Order> => {
    const cart: Cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
    await emulator().confirmPaymentIntent(intentIdOf(cart.payment_session), {
      payment_method: "pm_card_visa",
    })
    const completed = await completeCart(e2e.store, cart.id)
    if (completed.type !== "order") {
      throw new Error(`Expected an order, got ${completed.type}: ${JSON.stringify(completed.data)}`)
    }
    return completed.data
  }

  /** The admin adds `quantity` tees to the order and asks the shopper to pay the difference. */
  const requestEditAddingItem = async (order: Order, quantity = 1): Promise<OrderEdit> => {
    const { order_edit: created } = await e2e.admin.post<{ order_edit: OrderEdit }>(
      "/admin/order-edits",
      { order_id: order.id, internal_note: "the shopper asked for another tee" }
    )
    await e2e.admin.post(`/admin/order-edits/${created.id}/items`, {
      variant_id: await findVariantId(e2e.store),
      quantity,
    })
    const { order_edit } = await e2e.admin.post<{ order_edit: OrderEdit }>(
      `/admin/order-edits/${created.id}/request`,
      { payment_collection_description: "Another tee" }
    )
    return order_edit
  }

  /** `POST /store/payment-collections/:id/sessions/batch` with one Stripe session. */
  const createStripeSession = async (
    collection: { id: string; amount: number },
    sessionId?: string
  ): Promise<PaymentCollection> => {
    const { payment_collection } = await e2e.store.post<{ payment_collection: PaymentCollection }>(
      `/store/payment-collections/${collection.id}/sessions/batch`,
      {
        sessions: [
          {
            provider_id: "stripe",
            amount: collection.amount,
            ...(sessionId ? { session_id: sessionId } : {}),
          },
        ],
      }
    )
    return payment_collection
  }

  const getCollection = async (id: string): Promise<PaymentCollection> => {
    const { payment_collection } = await e2e.store.get<{ payment_collection: PaymentCollection }>(
      `/store/payment-collections/${id}`
    )
    return payment_collection
  }

  const collectionRow = (id: string) =>
    e2e.db.one<CollectionRow>(
      `SELECT status, amount, authorized_amount, currency_code FROM payment_collection WHERE id = $1`,
      [id]
    )

  const paymentsOfCollection = (id: string) =>
    e2e.db.query<PaymentRow>(
      `SELECT p.id, p.provider_id, p.amount, p.currency_code, p.order_id, p.cart_id,
              p.captured_at, p.canceled_at, p.data
       FROM payment p
       JOIN payment_collection_payments link ON link.payment_id = p.id
       WHERE link.payment_collection_id = $1`,
      [id]
    )

  const sessionsOfCollection = (id: string) =>
    e2e.db.query<{ id: string; status: string; data: { id?: string } }>(
      `SELECT s.id, s.status, s.data
       FROM payment_session s
       JOIN payment_collection_sessions link ON link.payment_session_id = s.id
       WHERE link.payment_collection_id = $1`,
      [id]
    )

  const paymentsOfOrder = (orderId: string) =>
    e2e.db.query<PaymentRow>(
      `SELECT id, provider_id, amount, currency_code, order_id, cart_id, captured_at, canceled_at, data
       FROM payment WHERE order_id = $1 ORDER BY created_at`,
      [orderId]
    )

  const intentsOfCollection = (id: string): Stripe.PaymentIntent[] =>
    emulator()
      .paymentIntents()
      .filter((intent) => intent.metadata.resource_id === id)

  const eventsOfIntent = (intentId: string, type: string) =>
    emulator()
      .events(type)
      .filter((event) => (event.data.object as { id?: string }).id === intentId)

  /** What every flow must leave behind, once the order edit is confirmed. */
  const expectSettledCollection = async (
    order: Order,
    edit: OrderEdit,
    collectionId: string,
    intentId: string
  ): Promise<void> => {
    const row = await collectionRow(collectionId)
    expect(row).toEqual({
      status: "authorized",
      amount: edit.difference_due,
      authorized_amount: edit.difference_due,
      currency_code: "eur",
    })

    const payments = await paymentsOfCollection(collectionId)
    expect(payments).toHaveLength(1)
    expect(payments[0]).toMatchObject({
      provider_id: "stripe",
      amount: edit.difference_due,
      currency_code: "eur",
      order_id: order.id,
      cart_id: null,
      captured_at: null,
      canceled_at: null,
      data: expect.objectContaining({ id: intentId, status: "requires_capture" }),
    })

    // Exactly one intent for the collection, for its amount, and held for the admin's capture.
    const intents = intentsOfCollection(collectionId)
    expect(intents).toHaveLength(1)
    expect(intents[0]).toMatchObject({
      id: intentId,
      amount: edit.difference_due,
      currency: "eur",
      capture_method: "manual",
      status: "requires_capture",
      amount_capturable: edit.difference_due,
    })
    expect(intents[0].metadata).toMatchObject({ resource_id: collectionId })
    expect(intents[0].metadata.cart_id).toBeUndefined()

    // Nothing orphaned: every session of the collection holds that one intent.
    const sessions = await sessionsOfCollection(collectionId)
    expect(sessions.map((session) => session.data.id)).toEqual([intentId])
    expect(sessions.map((session) => session.status)).toEqual(["authorized"])

    // The order now holds the checkout's payment and the edit's, each on its own intent.
    const orderPayments = await paymentsOfOrder(order.id)
    expect(orderPayments.map((payment) => payment.data.id)).toEqual([
      expect.not.stringMatching(intentId),
      intentId,
    ])
    const { order_edit: confirmed } = await e2e.admin.get<{ order_edit: OrderEdit }>(
      `/admin/order-edits/${edit.id}`
    )
    expect(confirmed.status).toBe("confirmed")
  }

  // -------------------------------------------------------------------------------------------

  describe("the shopper authorizes the collection after confirming at Stripe", () => {
    let order: Order
    let edit: OrderEdit
    let collection: PaymentCollection
    let intentId: string

    it("turns the admin's order edit into a payment collection for the difference", async () => {
      order = await paidOrder()
      edit = await requestEditAddingItem(order)
      expect(edit.status).toBe("requested")
      expect(edit.difference_due).toBe(2500)
      expect(edit.payment_collection_id).toMatch(/^paycol_/)
      collection = await getCollection(edit.payment_collection_id as string)
      expect(collection).toMatchObject({
        type: "order_edit",
        status: "not_paid",
        amount: edit.difference_due,
        currency_code: "eur",
      })
    })

    it("creates one Stripe session with a client secret for the collection's amount", async () => {
      const withSession = await createStripeSession(collection)
      expect(withSession.payment_sessions).toHaveLength(1)
      const session = withSession.payment_sessions[0]
      intentId = intentIdOf(session)
      expect(session).toMatchObject({ provider_id: "stripe", amount: collection.amount })
      expect(session.data.client_secret).toMatch(new RegExp(`^${intentId}_secret_`))
      expect(JSON.stringify(withSession)).not.toContain(e2e.secrets.apiKey)
      expect(emulator().paymentIntent(intentId)).toMatchObject({
        amount: collection.amount,
        currency: "eur",
        status: "requires_payment_method",
        metadata: expect.objectContaining({ resource_id: collection.id }),
      })
    })

    it("keeps the same intent when the storefront posts the session again", async () => {
      const sessionId = (await getCollection(collection.id)).payment_sessions[0].id
      const again = await createStripeSession(collection, sessionId)
      expect(again.payment_sessions.map((session) => intentIdOf(session))).toEqual([intentId])
      expect(intentsOfCollection(collection.id)).toHaveLength(1)
    })

    it("refuses to complete the order edit before the payment is authorized", async () => {
      const early = await e2e.store.request("POST", `/store/order-edits/${edit.id}/complete`)
      expect(early.ok).toBe(false)
      expect(JSON.stringify(early.body)).toMatch(/payment is not authorized/i)
    })

    it("authorizes the session once the shopper has confirmed the intent at Stripe", async () => {
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const sessionId = (await getCollection(collection.id)).payment_sessions[0].id
      const { payment_collection } = await e2e.store.post<{
        payment_collection: PaymentCollection
      }>(`/store/payment-collections/${collection.id}/sessions/batch/authorize`, {
        session_ids: [sessionId],
      })
      expect(payment_collection).toMatchObject({
        status: "authorized",
        authorized_amount: collection.amount,
      })
    })

    it("confirms the order edit and links the payment to the order", async () => {
      const { order_edit } = await e2e.store.post<{ order_edit: OrderEdit }>(
        `/store/order-edits/${edit.id}/complete`
      )
      expect(order_edit.status).toBe("confirmed")
      await expectSettledCollection(order, edit, collection.id, intentId)
    })

    it("is not authorized a second time by the webhook that follows", async () => {
      await waitFor(() => eventsOfIntent(intentId, "payment_intent.amount_capturable_updated")[0], {
        description: "the emulator's amount_capturable_updated event",
      })
      const [event] = eventsOfIntent(intentId, "payment_intent.amount_capturable_updated")
      const row = await waitFor(
        async () => {
          const found = await e2e.db.one<{ status: string }>(
            `SELECT status FROM stripe_webhook_event WHERE id = $1`,
            [event.id]
          )
          return found?.status === "processed" ? found : undefined
        },
        { timeoutMs: 30_000, intervalMs: 200, description: `Stripe event ${event.id} processed` }
      )
      expect(row.status).toBe("processed")
      await expectSettledCollection(order, edit, collection.id, intentId)
    })

    it("lets the admin capture the checkout's payment and the edit's together", async () => {
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      const payments = await paymentsOfOrder(order.id)
      expect(payments.every((payment) => payment.captured_at !== null)).toBe(true)
      for (const payment of payments) {
        expect(emulator().paymentIntent(payment.data.id)).toMatchObject({
          status: "succeeded",
          amount_received: payment.amount,
        })
      }
      expect(payments.map((payment) => payment.amount)).toEqual([order.total, edit.difference_due])
    })
  })

  describe("a storefront that posts the sessions again without their id", () => {
    it("gives the new session its own intent and cancels the one it replaces", async () => {
      const order = await paidOrder()
      const edit = await requestEditAddingItem(order)
      const collectionId = edit.payment_collection_id as string
      const collection = { id: collectionId, amount: edit.difference_due }
      const first = await createStripeSession(collection)
      const replacedId = intentIdOf(first.payment_sessions[0])

      const again = await createStripeSession(collection)
      expect(again.payment_sessions).toHaveLength(1)
      const intentId = intentIdOf(again.payment_sessions[0])
      expect(intentId).not.toBe(replacedId)
      expect(emulator().paymentIntent(intentId)).toMatchObject({
        status: "requires_payment_method",
        amount: collection.amount,
        metadata: expect.objectContaining({ resource_id: collectionId }),
      })
      expect(emulator().paymentIntent(replacedId)?.status).toBe("canceled")
      expect(
        intentsOfCollection(collectionId)
          .map((intent) => intent.id)
          .sort()
      ).toEqual([intentId, replacedId].sort())
      const sessions = await sessionsOfCollection(collectionId)
      expect(sessions.map((session) => session.data.id)).toEqual([intentId])

      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const { payment_collection } = await e2e.store.post<{
        payment_collection: PaymentCollection
      }>(`/store/payment-collections/${collectionId}/sessions/batch/authorize`, {
        session_ids: [again.payment_sessions[0].id],
      })
      expect(payment_collection.status).toBe("authorized")
      const payments = await paymentsOfCollection(collectionId)
      expect(payments.map((payment) => payment.data.id)).toEqual([intentId])
    })
  })

  describe("several authorizations of one collection at the same time", () => {
    it("make exactly one payment", async () => {
      const order = await paidOrder()
      const edit = await requestEditAddingItem(order)
      const collectionId = edit.payment_collection_id as string
      const withSession = await createStripeSession({
        id: collectionId,
        amount: edit.difference_due,
      })
      const session = withSession.payment_sessions[0]
      await emulator().confirmPaymentIntent(intentIdOf(session), { payment_method: "pm_card_visa" })
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          e2e.store.request(
            "POST",
            `/store/payment-collections/${collectionId}/sessions/batch/authorize`,
            { session_ids: [session.id] }
          )
        )
      )
      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
      expect((await collectionRow(collectionId))?.status).toBe("authorized")
      expect(await paymentsOfCollection(collectionId)).toHaveLength(1)
    })
  })

  describe("the webhook authorizes the collection when the shopper never comes back", () => {
    it("authorizes on payment_intent.amount_capturable_updated, and the edit completes", async () => {
      const order = await paidOrder()
      const edit = await requestEditAddingItem(order, 2)
      expect(edit.difference_due).toBe(5000)
      const collectionId = edit.payment_collection_id as string
      const withSession = await createStripeSession({
        id: collectionId,
        amount: edit.difference_due,
      })
      const intentId = intentIdOf(withSession.payment_sessions[0])

      // The shopper confirms with Stripe.js and closes the tab: no authorize call follows.
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const authorized = await waitFor(
        async () => {
          const row = await collectionRow(collectionId)
          return row?.status === "authorized" ? row : undefined
        },
        {
          timeoutMs: 30_000,
          intervalMs: 200,
          description: `payment collection ${collectionId} authorized`,
        }
      )
      expect(authorized.authorized_amount).toBe(edit.difference_due)

      const [event] = eventsOfIntent(intentId, "payment_intent.amount_capturable_updated")
      const eventRow = await e2e.db.one<{ status: string; resource_id: string }>(
        `SELECT status, resource_id FROM stripe_webhook_event WHERE id = $1`,
        [event.id]
      )
      expect(eventRow).toEqual({ status: "processed", resource_id: collectionId })

      const { order_edit } = await e2e.store.post<{ order_edit: OrderEdit }>(
        `/store/order-edits/${edit.id}/complete`
      )
      expect(order_edit.status).toBe("confirmed")
      await expectSettledCollection(order, edit, collectionId, intentId)
    })

    it("authorizes an iDEAL payment on payment_intent.succeeded and records it captured", async () => {
      const order = await paidOrder()
      const edit = await requestEditAddingItem(order)
      const collectionId = edit.payment_collection_id as string
      const { payment_collection } = await e2e.store.post<{
        payment_collection: PaymentCollection
      }>(`/store/payment-collections/${collectionId}/sessions/batch`, {
        sessions: [{ provider_id: "stripe-ideal", amount: edit.difference_due }],
      })
      const intentId = intentIdOf(payment_collection.payment_sessions[0])
      await emulator().confirmPaymentIntent(intentId, {
        payment_method: "pm_ideal",
        return_url: "http://localhost:8000/order-edit",
      })
      await emulator().completeAction(intentId)

      const payment = await waitFor(
        async () => (await paymentsOfCollection(collectionId)).find((row) => row.captured_at),
        {
          timeoutMs: 30_000,
          intervalMs: 200,
          description: `a captured payment for ${collectionId}`,
        }
      )
      expect(payment).toMatchObject({
        provider_id: "stripe-ideal",
        amount: edit.difference_due,
        data: expect.objectContaining({ id: intentId, status: "succeeded" }),
      })
      expect(await paymentsOfCollection(collectionId)).toHaveLength(1)
      expect(await collectionRow(collectionId)).toMatchObject({ status: "authorized" })
      expect(emulator().paymentIntent(intentId)).toMatchObject({
        status: "succeeded",
        amount_received: edit.difference_due,
      })
      expect(intentsOfCollection(collectionId)).toHaveLength(1)

      const { order_edit } = await e2e.store.post<{ order_edit: OrderEdit }>(
        `/store/order-edits/${edit.id}/complete`
      )
      expect(order_edit.status).toBe("confirmed")
      const orderPayments = await paymentsOfOrder(order.id)
      expect(orderPayments.map((row) => row.data.id)).toContain(intentId)
    })
  })
})
