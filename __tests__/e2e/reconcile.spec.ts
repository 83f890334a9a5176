import Stripe from "stripe"
import {
  bootE2E,
  cardOrder,
  checkout,
  completeCart,
  emulatorOf,
  findRegion,
  findVariantIds,
  intentIdOf,
  waitFor,
  withVariantOutOfStock,
  type Cart,
  type E2E,
} from "../support"

jest.setTimeout(120_000)

interface PaymentRow {
  id: string
  amount: number
  captured_at: Date | null
  canceled_at: Date | null
}

interface OrderRow {
  payment_status: string
  metadata: Record<string, unknown> | null
}

/**
 * Money that moves at Stripe without Medusa asking (the dashboard, the bank, a method that
 * settles days later): Medusa's books follow, with webhooks on as in production.
 */
describe("reconciliation: Medusa's books follow what Stripe holds", () => {
  let e2e: E2E
  let stripe: Stripe

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true })
    const { host, port, protocol } = emulatorOf(e2e).stripeConfig()
    // What the merchant does in the Stripe dashboard, with the account's own key.
    stripe = new Stripe(e2e.secrets.apiKey, { host, port, protocol })
  }, 180_000)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  const emulator = () => emulatorOf(e2e)

  const authorizedOrder = () => cardOrder(e2e)

  const paymentOf = (orderId: string) =>
    e2e.db.one<PaymentRow>(
      `SELECT id, amount, captured_at, canceled_at FROM payment WHERE order_id = $1`,
      [orderId]
    )

  const orderRow = (orderId: string) =>
    e2e.db.one<OrderRow>(`SELECT payment_status, metadata FROM "order" WHERE id = $1`, [orderId])

  const issuesOf = (order: OrderRow | undefined): string[] => {
    const note = order?.metadata?.stripe_reconciliation as { issues?: string[] } | undefined
    return note?.issues ?? []
  }

  it("books a partial capture made in the Stripe dashboard for what Stripe received", async () => {
    const { order, intentId } = await authorizedOrder()
    await stripe.paymentIntents.capture(intentId, { amount_to_capture: 2000 })

    // Booked, then flagged on the order: wait for the flag, the last step.
    const row = await waitFor(
      async () => {
        const found = await orderRow(order.id)
        return issuesOf(found).length > 0 ? found : undefined
      },
      { timeoutMs: 20_000, description: "the dashboard capture in Medusa" }
    )
    const payment = await paymentOf(order.id)
    expect(payment?.captured_at).not.toBeNull()
    expect(payment?.amount).toBe(2000)
    expect(row?.payment_status).toBe("captured")
    expect(issuesOf(row).join("\n")).toMatch(/captured in part at Stripe \(20.00 EUR of /)
  })

  it("cancels the payment of an authorization canceled in Stripe, saying why", async () => {
    const { order, intentId } = await authorizedOrder()
    await stripe.paymentIntents.cancel(intentId, { cancellation_reason: "fraudulent" })

    const row = await waitFor(
      async () => {
        const found = await orderRow(order.id)
        return issuesOf(found).length > 0 ? found : undefined
      },
      { timeoutMs: 20_000, description: "the released authorization in Medusa" }
    )
    const payment = await paymentOf(order.id)
    expect(payment?.canceled_at).not.toBeNull()
    expect(payment?.captured_at).toBeNull()
    expect(row?.payment_status).toBe("canceled")
    expect(issuesOf(row).join("\n")).toContain("canceled at Stripe (fraudulent)")
    // The admin's capture no longer reaches Stripe, and the order keeps saying why.
    emulator().resetCounters()
    await e2e.admin.request("POST", `/admin/orders/${order.id}/capture`)
    expect(emulator().counters()["POST /v1/payment_intents/:id/capture"] ?? 0).toBe(0)
    expect((await paymentOf(order.id))?.captured_at).toBeNull()
    expect(issuesOf(await orderRow(order.id)).join("\n")).toContain("no payment left to capture")
  })

  it("books a dispute lost by the merchant, and notes each step on the order", async () => {
    const { order, intentId } = await authorizedOrder()
    await e2e.admin.post(`/admin/orders/${order.id}/capture`)
    const dispute = await emulator().createDispute(intentId, { reason: "product_not_received" })
    await waitFor(
      async () => {
        const row = await orderRow(order.id)
        const notes = row?.metadata?.stripe_disputes as Record<string, { status: string }>
        return notes?.[dispute.id]?.status === "needs_response" ? row : undefined
      },
      { timeoutMs: 20_000, description: "the open dispute on the order" }
    )
    await emulator().closeDispute(dispute.id, "lost")

    const refund = await waitFor(
      () =>
        e2e.db.one<{ amount: number; note: string }>(
          `SELECT amount, note FROM refund WHERE order_id = $1 AND idempotency_key = $2`,
          [order.id, `stripe-dispute:${dispute.id}`]
        ),
      { timeoutMs: 20_000, description: "the lost dispute booked on the order" }
    )
    expect(refund).toEqual({ amount: order.total, note: "dispute lost in Stripe" })
    const row = await orderRow(order.id)
    expect(row?.payment_status).toBe("refunded")
    expect(row?.metadata?.stripe_disputes).toMatchObject({
      [dispute.id]: { status: "lost", funds_withdrawn: true, funds_reinstated: false },
    })
  })

  it("notes a dispute won, with its funds reinstated, and books nothing", async () => {
    const { order, intentId } = await authorizedOrder()
    await e2e.admin.post(`/admin/orders/${order.id}/capture`)
    const dispute = await emulator().createDispute(intentId)
    await emulator().closeDispute(dispute.id, "won")
    const row = await waitFor(
      async () => {
        const found = await orderRow(order.id)
        const notes = found?.metadata?.stripe_disputes as Record<string, { status: string }>
        return notes?.[dispute.id]?.status === "won" ? found : undefined
      },
      { timeoutMs: 20_000, description: "the won dispute on the order" }
    )
    expect(row.metadata?.stripe_disputes).toMatchObject({
      [dispute.id]: { funds_withdrawn: true, funds_reinstated: true },
    })
    expect(row.payment_status).toBe("captured")
    expect(await e2e.db.count(`SELECT count(*) FROM refund WHERE order_id = $1`, [order.id])).toBe(
      0
    )
  })

  it("gives back a SEPA debit that settled after the cart was paid by card in another currency", async () => {
    const cart = await checkout(e2e.store, { region: "eur", provider: "stripe-sepa-debit" })
    const sepaIntent = intentIdOf(cart.payment_session)
    await emulator().confirmPaymentIntent(sepaIntent, { payment_method: "pm_sepa_debit" })
    expect(emulator().paymentIntent(sepaIntent)?.status).toBe("processing")

    // The shopper moves the cart to the US store and pays by card there.
    const usd = await findRegion(e2e.store, "usd")
    await e2e.store.post(`/store/carts/${cart.id}`, {
      region_id: usd.id,
      shipping_address: { country_code: usd.countries[0].iso_2 },
    })
    const { shipping_options } = await e2e.store.get<{ shipping_options: { id: string }[] }>(
      `/store/shipping-options/${cart.id}`
    )
    await e2e.store.post(`/store/carts/${cart.id}/shipping-methods`, {
      option_id: shipping_options[0].id,
    })
    await e2e.store.post(`/store/carts/${cart.id}/payment-sessions`)
    const { cart: byCard } = await e2e.store.post<{ cart: Cart }>(
      `/store/carts/${cart.id}/payment-session`,
      { provider_id: "stripe" }
    )
    await emulator().confirmPaymentIntent(intentIdOf(byCard.payment_session), {
      payment_method: "pm_card_visa",
    })
    const completed = await completeCart(e2e.store, cart.id)
    expect(completed.type).toBe("order")

    // Days later the SEPA debit settles: Stripe holds money no Medusa payment rests on.
    await emulator().settleProcessing(sepaIntent, { succeed: true })

    const refund = await waitFor(
      () =>
        emulator()
          .refunds()
          .find((entry) => entry.payment_intent === sepaIntent),
      { timeoutMs: 20_000, description: "the settled SEPA debit given back" }
    )
    expect(refund).toMatchObject({ amount: cart.total, status: "succeeded" })
    expect(refund.metadata?.medusa_reason).toContain("completed with another payment")
    expect(e2e.backend.logs().join("\n")).toContain(`of ${sepaIntent}`)
    expect(
      await e2e.db.count(`SELECT count(*) FROM payment WHERE data->>'id' = $1`, [sepaIntent])
    ).toBe(0)
  })

  it("notes the refund of a SEPA debit that settled after its item ran out, and completes nothing", async () => {
    const variants = await findVariantIds(e2e.store)
    const variantId = variants[variants.length - 1]
    const cart = await checkout(e2e.store, {
      region: "eur",
      provider: "stripe-sepa-debit",
      variantId,
    })
    const intentId = intentIdOf(cart.payment_session)
    await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_sepa_debit" })
    await withVariantOutOfStock(e2e, variantId, async () => {
      // The debit settles: the webhook's completion runs out of stock, Medusa cancels the
      // payment and the plugin refunds the debit.
      await emulator().settleProcessing(intentId, { succeed: true })
      const noted = await waitFor(
        async () => {
          const row = await e2e.db.one<{
            canceled_at: Date | null
            data: { refunds?: { id: string; amount: number }[] }
          }>(`SELECT canceled_at, data FROM payment WHERE data->>'id' = $1`, [intentId])
          return row?.data.refunds?.length ? row : undefined
        },
        { timeoutMs: 30_000, description: "the refund noted on the canceled payment" }
      )
      const refunds = emulator()
        .refunds()
        .filter((entry) => entry.payment_intent === intentId)
      expect({
        canceled: noted.canceled_at !== null,
        noted: noted.data.refunds,
        atStripe: refunds.map(({ id, amount }) => ({ id, amount })),
      }).toEqual({
        canceled: true,
        noted: [expect.objectContaining({ id: refunds[0]?.id, amount: cart.total })],
        atStripe: [{ id: expect.any(String), amount: cart.total }],
      })
      const succeeded = emulator()
        .events("payment_intent.succeeded")
        .find((event) => (event.data.object as { id: string }).id === intentId)
      const row = await waitFor(
        async () => {
          const found = await e2e.db.one<{ status: string; attempts: number }>(
            `SELECT status, attempts FROM stripe_webhook_event WHERE id = $1`,
            [succeeded?.id]
          )
          return found?.status === "processed" ? found : undefined
        },
        { timeoutMs: 30_000, description: "the succeeded event processed" }
      )
      // Once Stripe holds nothing, no retry can complete the cart: the event ends at once.
      expect(row.attempts).toBeLessThanOrEqual(2)
      expect(await e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [cart.id])).toBe(
        0
      )
    })
  })

  it("marks a swap's additional payment captured when the webhook completes its cart", async () => {
    const { order } = await authorizedOrder()
    await e2e.admin.post(`/admin/orders/${order.id}/capture`)
    const { order: full } = await e2e.admin.get<{
      order: { items: { id: string; variant_id: string; quantity: number }[] }
    }>(`/admin/orders/${order.id}`)
    const item = full.items[0]
    const variants = await findVariantIds(e2e.store)
    const additional = variants.find((id) => id !== item.variant_id) ?? item.variant_id
    await e2e.admin.post(`/admin/orders/${order.id}/fulfillment`, {
      items: [{ item_id: item.id, quantity: item.quantity }],
    })
    // The admin's swap route, which allows backorders: Medusa 1.20 completes the cart of a swap
    // that does not by reserving its items twice, once outside the completion's transaction,
    // which then waits for the transaction's own row lock.
    const { order: withSwap } = await e2e.admin.post<{
      order: { swaps: { id: string; cart_id: string }[] }
    }>(`/admin/orders/${order.id}/swaps`, {
      return_items: [{ item_id: item.id, quantity: 1 }],
      additional_items: [{ variant_id: additional, quantity: 2 }],
    })
    const swap = withSwap.swaps[0]
    const { shipping_options } = await e2e.store.get<{ shipping_options: { id: string }[] }>(
      `/store/shipping-options/${swap.cart_id}`
    )
    await e2e.store.post(`/store/carts/${swap.cart_id}/shipping-methods`, {
      option_id: shipping_options[0].id,
    })
    await e2e.store.post(`/store/carts/${swap.cart_id}/payment-sessions`)
    const { cart } = await e2e.store.post<{ cart: Cart }>(
      `/store/carts/${swap.cart_id}/payment-session`,
      { provider_id: "stripe-ideal" }
    )
    const intentId = intentIdOf(cart.payment_session)
    // The shopper pays at the bank and never comes back: the webhook completes the swap.
    await emulator().confirmPaymentIntent(intentId, {
      payment_method: "pm_ideal",
      return_url: "https://shop.example/swap",
    })
    await emulator().completeAction(intentId)

    const row = await waitFor(
      () =>
        e2e.db.one<{ payment_status: string }>(
          `SELECT payment_status FROM swap WHERE id = $1 AND payment_status = 'captured'`,
          [swap.id]
        ),
      { timeoutMs: 20_000, description: "the swap's payment captured" }
    )
    expect(row.payment_status).toBe("captured")
    const payment = await e2e.db.one<{ captured_at: Date | null; amount: number }>(
      `SELECT captured_at, amount FROM payment WHERE swap_id = $1`,
      [swap.id]
    )
    expect(payment?.captured_at).not.toBeNull()
    expect(emulator().paymentIntent(intentId)?.amount_received).toBe(payment?.amount)
  })

  it("reconciles an order from the admin route and says what it found and fixed", async () => {
    const { order, intentId } = await authorizedOrder()
    await e2e.admin.post(`/admin/orders/${order.id}/capture`)
    // The capture's own events are handled first; then no event reaches the backend.
    await emulator().webhooks.flush()
    await waitFor(
      async () =>
        (await e2e.db.count(
          `SELECT count(*) FROM stripe_webhook_event WHERE status IN ('received', 'processing')`
        )) === 0,
      { timeoutMs: 20_000, description: "every delivered event handled" }
    )
    emulator().webhooks.pause()
    try {
      const refund = await emulator().refundFromDashboard(intentId, 400)
      const { reports } = await e2e.admin.post<{
        reports: { payment_intent: string; fixed: string[]; flagged: string[] }[]
      }>(`/admin/stripe/orders/${order.id}/reconcile`)
      expect(reports).toEqual([
        {
          payment_intent: intentId,
          fixed: [expect.stringContaining(`refund ${refund.id} (4.00 EUR) booked on order`)],
          flagged: [],
          waiting: [],
        },
      ])
      const again = await e2e.admin.post<{ reports: { fixed: string[] }[] }>(
        `/admin/stripe/orders/${order.id}/reconcile`
      )
      expect(again.reports[0].fixed).toEqual([])
      expect(
        await e2e.db.count(`SELECT count(*) FROM refund WHERE order_id = $1`, [order.id])
      ).toBe(1)
    } finally {
      emulator().webhooks.resume()
    }
  })
})
