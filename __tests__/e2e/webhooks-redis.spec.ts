import fs from "fs"
import path from "path"
import Stripe from "stripe"
import type { StripeEmulator } from "../../src/emulator"
import {
  WEBHOOK_PATH,
  bootE2E,
  emulatorOf,
  checkout,
  completeCart,
  sleep,
  storeClient,
  waitFor,
  type Backend,
  type Cart,
  type E2E,
} from "../support"

jest.setTimeout(120_000)

const CAPTURE_ROUTE = "POST /v1/payment_intents/:id/capture"

const signer = new Stripe("sk_test_signer")

interface EventRow {
  status: string
  attempts: number
  last_error: string | null
}

/**
 * Two backend processes on one database with `@medusajs/event-bus-redis`, capturing at
 * confirmation (`capture: true`); the emulator delivers every event to both of them.
 */
describe("webhooks: two instances with the Redis event bus", () => {
  let e2e: E2E
  let emu: StripeEmulator
  let first: Backend
  let second: Backend

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, redis: true, env: { STRIPE_CAPTURE: "true" } })
    emu = emulatorOf(e2e)
    first = e2e.backend
    second = await e2e.startBackend({ registerWebhook: true })
  }, 180_000)

  afterAll(async () => {
    const dump = process.env.E2E_LOG_DIR
    if (dump && e2e) {
      fs.mkdirSync(dump, { recursive: true })
      e2e.backends.forEach((backend, index) =>
        fs.writeFileSync(path.join(dump, `webhooks-redis-${index}.log`), backend.logs().join("\n"))
      )
    }
    await e2e?.shutdown()
  })

  afterEach(() => {
    emu?.webhooks.resume()
  })

  const intentIdOf = (cart: Cart): string => {
    const id = cart.payment_session?.data.id
    if (typeof id !== "string") throw new Error(`Cart ${cart.id} has no Stripe payment session`)
    return id
  }

  const deliver = async (event: unknown, backend: Backend) => {
    const payload = JSON.stringify(event)
    const header = signer.webhooks.generateTestHeaderString({
      payload,
      secret: e2e.secrets.webhookSecret,
    })
    const started = Date.now()
    const res = await fetch(`${backend.url}${WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": header },
      body: payload,
    })
    return { status: res.status, body: (await res.json()) as unknown, ms: Date.now() - started }
  }

  const eventRow = (id: string) =>
    e2e.db.one<EventRow>(
      `SELECT status, attempts, last_error FROM stripe_webhook_event WHERE id = $1`,
      [id]
    )

  const emulatorEvent = (type: string, intentId: string): Stripe.Event => {
    const found = emu
      .events(type)
      .filter((event) => (event.data.object as { id?: string }).id === intentId)
    const last = found[found.length - 1]
    if (!last) throw new Error(`The emulator sent no ${type} for ${intentId}`)
    return last
  }

  const capturesAtStripe = (intentId: string) =>
    emu
      .requestLog()
      .filter((entry) => entry.route === CAPTURE_ROUTE && entry.path.includes(intentId)).length

  const ordersOf = (cartId: string) =>
    e2e.db.query<{ id: string; payment_status: string }>(
      `SELECT id, payment_status FROM "order" WHERE cart_id = $1`,
      [cartId]
    )

  it("runs the backends on Redis", () => {
    expect(e2e.backends).toHaveLength(2)
    for (const backend of e2e.backends) {
      expect(backend.logs().join("\n")).not.toMatch(/Local Event Bus installed/)
    }
  })

  it("turns duplicate deliveries to both instances and the shopper's call into one order and no second capture", async () => {
    const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
    const intentId = intentIdOf(cart)
    emu.webhooks.pause()
    const confirmed = await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
    expect(confirmed.status).toBe("succeeded")
    const event = emulatorEvent("payment_intent.succeeded", intentId)

    const shopperCall = async () => {
      await waitFor(
        async () => ["processing", "processed"].includes((await eventRow(event.id))?.status ?? ""),
        { timeoutMs: 15_000, intervalMs: 10, description: `event ${event.id} being processed` }
      )
      return completeCart(storeClient(second.url), cart.id)
    }
    const [hooks, shopper] = await Promise.all([
      Promise.all(
        Array.from({ length: 20 }, (_, index) => deliver(event, index % 2 === 0 ? first : second))
      ),
      shopperCall(),
    ])
    for (const hook of hooks) {
      expect(hook.status).toBe(200)
      expect(hook.ms).toBeLessThan(1000)
    }
    expect(shopper.type).toBe("order")

    // The emulator's own deliveries, to both instances, arrive last.
    emu.webhooks.resume()
    await emu.webhooks.flush()
    const order = await waitFor(
      async () => {
        const [row] = await ordersOf(cart.id)
        return row?.payment_status === "captured" ? row : undefined
      },
      { timeoutMs: 20_000, description: "the captured order" }
    )
    await sleep(4_000)

    // The event is marked processed once its reconciliation (the capture) is done too.
    const processed = await waitFor(
      async () => {
        const row = await eventRow(event.id)
        return row?.status === "processed" ? row : undefined
      },
      { timeoutMs: 20_000, description: `event ${event.id} processed` }
    )
    expect(processed).toMatchObject({ status: "processed", attempts: 1 })
    expect(await ordersOf(cart.id)).toHaveLength(1)
    expect(shopper.type === "order" && shopper.data.id).toBe(order.id)
    expect(await e2e.db.count(`SELECT count(*) FROM payment WHERE cart_id = $1`, [cart.id])).toBe(1)
    const payment = await e2e.db.one<{ captured_at: Date | null; data: { status: string } }>(
      `SELECT captured_at, data FROM payment WHERE order_id = $1`,
      [order.id]
    )
    expect(payment?.captured_at).not.toBeNull()
    expect(payment?.data.status).toBe("succeeded")
    // Captured once, at confirmation: the backends never asked Stripe to capture.
    expect(capturesAtStripe(intentId)).toBe(0)
    expect(emu.paymentIntent(intentId)).toMatchObject({
      status: "succeeded",
      amount_received: confirmed.amount,
    })
    const deliveredTo = new Set(
      emu.webhooks
        .deliveries()
        .filter((d) => d.eventId === event.id)
        .map((d) => d.url)
    )
    expect(deliveredTo.size).toBe(2)
  })

  it("completes and captures when the shopper closes the tab after 3-D Secure", async () => {
    const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
    const intentId = intentIdOf(cart)
    await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_threeDSecure2Required" })
    await emu.completeAction(intentId)
    const order = await waitFor(
      async () => {
        const [row] = await ordersOf(cart.id)
        return row?.payment_status === "captured" ? row : undefined
      },
      { timeoutMs: 20_000, description: "the captured order" }
    )
    expect(await ordersOf(cart.id)).toEqual([order])
    expect(capturesAtStripe(intentId)).toBe(0)
  })

  it("lets the Redis event bus retry a failing event, then leaves it failed", async () => {
    // A cart of this store, and an intent Stripe cannot find: every attempt fails.
    const { cart } = await e2e.store.post<{ cart: { id: string } }>("/store/carts", {})
    const event = {
      id: `evt_e2eredis${Date.now()}`,
      object: "event",
      api_version: "2024-04-10",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: "payment_intent.succeeded",
      data: {
        object: {
          id: "pi_e2eredismissing",
          object: "payment_intent",
          status: "succeeded",
          metadata: { resource_id: cart.id },
        },
      },
    }
    expect((await deliver(event, first)).status).toBe(200)
    const row = await waitFor(
      async () => {
        const found = await eventRow(event.id)
        return found?.status === "failed" && found.attempts >= 5 ? found : undefined
      },
      { timeoutMs: 40_000, intervalMs: 500, description: `event ${event.id} failed for good` }
    )
    expect(row.attempts).toBe(5)
    expect(row.last_error).toMatch(/pi_e2eredismissing/)
    const logs = e2e.backends.flatMap((backend) => backend.logs())
    expect(logs.some((line) => line.includes(event.id) && /left as failed/.test(line))).toBe(true)
    expect(logs.some((line) => /Retrying stripe\.webhook_received/.test(line))).toBe(true)
  })
})
