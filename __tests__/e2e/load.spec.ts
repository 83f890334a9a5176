import {
  bootE2E,
  checkout,
  completeCart,
  emulatorOf,
  findVariantIds,
  type Cart,
  type E2E,
} from "../support"

jest.setTimeout(180_000)

const SHOPPERS = 12
const STRIPE_LATENCY_MS = 300

/**
 * Stripe answers in hundreds of milliseconds in production. With Medusa's default pool of ten
 * connections, a dozen shoppers completing their carts at that latency once hung the whole
 * backend: each completion's transaction held a connection while the plugin asked the same
 * pool for another to read the cart's total.
 */
describe("a dozen shoppers completing at once with real Stripe latency", () => {
  let e2e: E2E

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, webhooks: false })
  }, 180_000)

  afterAll(async () => {
    emulatorOf(e2e)?.faults.clear()
    await e2e?.shutdown()
  })

  it("get their orders while the backend keeps answering other routes", async () => {
    const emulator = emulatorOf(e2e)
    const variants = await findVariantIds(e2e.store)
    const carts: Cart[] = []
    for (let i = 0; i < SHOPPERS; i += 1) {
      const cart = await checkout(e2e.store, {
        region: "eur",
        provider: "stripe",
        variantId: variants[i % variants.length],
      })
      await emulator.confirmPaymentIntent(cart.payment_session?.data.id as string, {
        payment_method: "pm_card_visa",
      })
      carts.push(cart)
    }

    emulator.faults.setLatency(STRIPE_LATENCY_MS)
    const completions = carts.map((cart) =>
      e2e.store.request("POST", `/store/carts/${cart.id}/complete`, undefined, {
        timeoutMs: 60_000,
      })
    )
    // While they run, another shopper browses.
    const started = Date.now()
    const regions = await e2e.store.request("GET", "/store/regions", undefined, {
      timeoutMs: 15_000,
    })
    const browseMs = Date.now() - started
    const results = await Promise.allSettled(completions)
    emulator.faults.clear()

    expect(regions.status).toBe(200)
    expect(browseMs).toBeLessThan(15_000)
    const statuses = results.map((result) =>
      result.status === "fulfilled" ? result.value.status : `hung: ${String(result.reason)}`
    )
    expect(statuses).toEqual(carts.map(() => 200))
    const orders = await e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = ANY($1)`, [
      carts.map((cart) => cart.id),
    ])
    expect(orders).toBe(SHOPPERS)
    // A cart completed again answers with its order.
    const again = await completeCart(e2e.store, carts[0].id)
    expect(again.type).toBe("order")
  })
})
