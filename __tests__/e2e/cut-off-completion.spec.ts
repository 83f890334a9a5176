import {
  bootE2E,
  checkout,
  completeCart,
  connectDb,
  emulatorOf,
  getCart,
  intentIdOf,
  waitFor,
  type Backend,
  type Cart,
  type Db,
  type E2E,
} from "../support"

jest.setTimeout(180_000)

/**
 * A completion cut off by a crash (here a SIGKILL) between two of Medusa's steps leaves the cart
 * half-way: its tax lines stored, and perhaps its payment recorded. The shopper then changes the
 * cart or completes it again. To stop the completion at an exact step, a test transaction holds
 * a table lock that the next step's write waits for, and the backend is killed while it waits.
 * Webhooks are off: only the shopper completes.
 */
describe("a cart whose completion was cut off", () => {
  let e2e: E2E
  let locker: Db
  let backend: Backend

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, webhooks: false })
    backend = e2e.backend
    locker = await connectDb(e2e.database.url)
  }, 240_000)

  afterAll(async () => {
    await locker?.close()
    await e2e?.shutdown()
  })

  const taxLinesOf = (cartId: string) =>
    e2e.db.count(
      `SELECT (SELECT count(*) FROM line_item_tax_line t JOIN line_item i ON i.id = t.item_id
               WHERE i.cart_id = $1)
            + (SELECT count(*) FROM shipping_method_tax_line t
               JOIN shipping_method m ON m.id = t.shipping_method_id WHERE m.cart_id = $1)`,
      [cartId]
    )

  /** Completes the cart: its order's total and what each of its payments booked. */
  const orderOf = async (cartId: string) => {
    const completed = await completeCart(e2e.store, cartId)
    const order = completed.data as { total?: number; payments?: { amount: number }[] }
    return { total: order.total, paid: (order.payments ?? []).map((p) => p.amount) }
  }

  /** A paid cart whose completion is killed while its write to `table` waits for the lock. */
  const cutOffAt = async (table: "payment" | "order"): Promise<Cart> => {
    const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
    await emulatorOf(e2e).confirmPaymentIntent(intentIdOf(cart.payment_session), {
      payment_method: "pm_card_visa",
    })
    await locker.query("BEGIN")
    await locker.query(`LOCK TABLE "${table}" IN SHARE MODE`)
    const completion = e2e.store
      .request("POST", `/store/carts/${cart.id}/complete`, undefined, { timeoutMs: 60_000 })
      .catch(() => undefined)
    try {
      await waitFor(
        async () =>
          (await e2e.db.count(
            `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = $1 AND NOT l.granted`,
            [table]
          )) > 0,
        { timeoutMs: 30_000, intervalMs: 20, description: `the completion waiting on ${table}` }
      )
      await backend.kill("SIGKILL")
    } finally {
      await locker.query("ROLLBACK")
    }
    await completion
    // The same port: the store client keeps talking to it.
    backend = await e2e.startBackend({ port: backend.port, registerWebhook: false })
    return cart
  }

  it("takes a new quantity once its stored tax lines are cleared, and is paid for it", async () => {
    const cart = await cutOffAt("payment")
    expect(await taxLinesOf(cart.id)).toBeGreaterThan(0)
    const lineId = (await getCart(e2e.store, cart.id)).items[0].id

    const changed = await e2e.store.request(
      "POST",
      `/store/carts/${cart.id}/line-items/${lineId}`,
      { quantity: 2 }
    )

    expect({ status: changed.status, taxLines: await taxLinesOf(cart.id) }).toEqual({
      status: 200,
      taxLines: 0,
    })
    const updated = await getCart(e2e.store, cart.id)
    expect(updated.total).toBeGreaterThan(cart.total ?? Infinity)
    await emulatorOf(e2e).confirmPaymentIntent(intentIdOf(updated.payment_session), {
      payment_method: "pm_card_visa",
    })
    expect(await orderOf(cart.id)).toEqual({ total: updated.total, paid: [updated.total] })
  })

  it("refuses a change once the payment was recorded, and places the order on a retry", async () => {
    const cart = await cutOffAt("order")
    expect(await e2e.db.count(`SELECT count(*) FROM payment WHERE cart_id = $1`, [cart.id])).toBe(1)
    const lineId = (await getCart(e2e.store, cart.id)).items[0].id

    const changed = await e2e.store.request(
      "POST",
      `/store/carts/${cart.id}/line-items/${lineId}`,
      { quantity: 2 }
    )

    expect({ status: changed.status, body: changed.body }).toMatchObject({
      status: 409,
      body: { code: "cart_completion_interrupted" },
    })
    expect(await orderOf(cart.id)).toEqual({ total: cart.total, paid: [cart.total] })
  })
})
