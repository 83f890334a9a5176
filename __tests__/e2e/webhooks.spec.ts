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
  waitFor,
  type Backend,
  type Cart,
  type E2E,
} from "../support"

jest.setTimeout(120_000)

const CAPTURE_ROUTE = "POST /v1/payment_intents/:id/capture"

/** Signs payloads as Stripe does (the SDK's own test helper). */
const signer = new Stripe("sk_test_signer")

interface EventRow {
  id: string
  type: string
  resource_id: string | null
  status: string
  attempts: number
  last_error: string | null
  processed_at: Date | null
}

interface OrderRow {
  id: string
  payment_status: string
  metadata: Record<string, unknown> | null
}

describe("webhooks: Stripe events turn payments into orders exactly once", () => {
  let e2e: E2E
  let emu: StripeEmulator
  let stripe: Stripe

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true })
    emu = emulatorOf(e2e)
    const { host, port, protocol } = emu.stripeConfig()
    stripe = new Stripe(e2e.secrets.apiKey, { host, port, protocol, maxNetworkRetries: 0 })
  }, 180_000)

  afterAll(async () => {
    const dump = process.env.E2E_LOG_DIR
    if (dump && e2e) {
      fs.mkdirSync(dump, { recursive: true })
      e2e.backends.forEach((backend, index) =>
        fs.writeFileSync(
          path.join(dump, `webhooks-backend-${index}.log`),
          backend.logs().join("\n")
        )
      )
    }
    await e2e?.shutdown()
  })

  afterEach(() => {
    emu?.webhooks.configure({ reorder: false, duplicates: 0, delayMs: 0 })
    emu?.webhooks.resume()
  })

  // -------------------------------------------------------------------------------------------
  // Helpers

  const intentIdOf = (cart: Cart): string => {
    const id = cart.payment_session?.data.id
    if (typeof id !== "string") throw new Error(`Cart ${cart.id} has no Stripe payment session`)
    return id
  }

  const sign = (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
    signer.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? e2e.secrets.webhookSecret,
      ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    })

  const postHook = async (
    payload: string,
    signature: string | undefined,
    backend: Backend = e2e.backend
  ): Promise<{ status: number; body: Record<string, unknown>; ms: number }> => {
    const started = Date.now()
    const res = await fetch(`${backend.url}${WEBHOOK_PATH}`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        ...(signature !== undefined ? { "stripe-signature": signature } : {}),
      },
      body: payload,
    })
    const text = await res.text()
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      body = { text }
    }
    return { status: res.status, body, ms: Date.now() - started }
  }

  const deliverSigned = (event: unknown, backend?: Backend) => {
    const payload = JSON.stringify(event, null, 2)
    return postHook(payload, sign(payload), backend)
  }

  let fakeSeq = 0
  const fakeEvent = (type: string, object: Record<string, unknown>) => ({
    id: `evt_e2e${Date.now()}${(fakeSeq += 1)}`,
    object: "event",
    api_version: "2024-04-10",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  })

  const eventRow = (id: string) =>
    e2e.db.one<EventRow>(`SELECT * FROM stripe_webhook_event WHERE id = $1`, [id])

  const processedRow = (id: string) =>
    waitFor(
      async () => {
        const row = await eventRow(id)
        return row?.status === "processed" ? row : undefined
      },
      { timeoutMs: 20_000, description: `event ${id} processed` }
    )

  const ordersOf = (cartId: string) =>
    e2e.db.query<OrderRow>(`SELECT id, payment_status, metadata FROM "order" WHERE cart_id = $1`, [
      cartId,
    ])

  const waitForOrder = (cartId: string, timeoutMs = 30_000) =>
    waitFor(async () => (await ordersOf(cartId))[0], {
      timeoutMs,
      intervalMs: 200,
      description: `an order for ${cartId}`,
    })

  /** The emulator's event of `type` about `intentId` (PaymentIntent, charge or dispute). */
  const emulatorEvent = (type: string, intentId: string): Stripe.Event => {
    const found = emu.events(type).filter((event) => {
      const object = event.data.object as { id?: string; payment_intent?: unknown }
      return object.id === intentId || object.payment_intent === intentId
    })
    const last = found[found.length - 1]
    if (!last) throw new Error(`The emulator sent no ${type} for ${intentId}`)
    return last
  }

  const capturesAtStripe = (intentId: string) =>
    emu
      .requestLog()
      .filter(
        (entry) =>
          entry.route === CAPTURE_ROUTE &&
          entry.path.includes(intentId) &&
          entry.status === 200 &&
          !entry.replayed
      ).length

  const stripeCheckout = (region = "eur") => checkout(e2e.store, { region, provider: "stripe" })

  // -------------------------------------------------------------------------------------------
  // The route

  describe("POST /stripe/hooks", () => {
    const payload = () =>
      JSON.stringify(
        fakeEvent("payment_intent.succeeded", {
          id: "pi_e2esignature",
          object: "payment_intent",
          status: "succeeded",
          metadata: { resource_id: "cart_e2esignature", cart_id: "cart_e2esignature" },
        })
      )

    it.each<[string, (body: string) => string | undefined]>([
      ["missing", () => undefined],
      ["empty", () => ""],
      ["forged (another secret)", (body) => sign(body, { secret: "whsec_forged0000000000" })],
      [
        "stale (ten minutes old)",
        (body) => sign(body, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      ],
      ["malformed", () => "t=notatime,v1=zz"],
      ["unparseable", () => "garbage"],
      ["for other bytes", (body) => sign(body.replace("succeeded", "processing"))],
    ])("refuses a %s signature with 400 and records nothing", async (_label, signatureFor) => {
      const body = payload()
      const id = (JSON.parse(body) as { id: string }).id
      const jobsBefore = await e2e.db.count(`SELECT count(*) FROM staged_job`)
      const res = await postHook(body, signatureFor(body))
      expect(res.status).toBe(400)
      expect(String(res.body.message)).toMatch(/signature/i)
      expect(await eventRow(id)).toBeUndefined()
      expect(await e2e.db.count(`SELECT count(*) FROM staged_job`)).toBeLessThanOrEqual(jobsBefore)
    })

    it("refuses a correctly signed body that is not JSON", async () => {
      const body = "{not json"
      const res = await postHook(body, sign(body))
      expect(res.status).toBe(400)
    })

    it("refuses a body over 512 KiB with 413", async () => {
      const body = JSON.stringify({ padding: "x".repeat(600 * 1024) })
      const res = await postHook(body, sign(body))
      expect(res.status).toBe(413)
    })

    it("acknowledges an event type it does not handle, and ignores it", async () => {
      const event = fakeEvent("customer.created", { id: "cus_e2e", object: "customer" })
      const res = await deliverSigned(event)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ received: true, ignored: true })
      expect(await eventRow(event.id)).toMatchObject({ status: "ignored", attempts: 0 })
    })
  })

  // -------------------------------------------------------------------------------------------
  // Completion

  it("completes the order when the shopper closes the tab after 3-D Secure", async () => {
    const cart = await stripeCheckout()
    const intentId = intentIdOf(cart)
    await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_threeDSecure2Required" })
    await emu.completeAction(intentId)
    // The shopper never calls POST /store/carts/:id/complete.

    const order = await waitForOrder(cart.id)
    expect(order.payment_status).toBe("awaiting")
    const payments = await e2e.db.query<{ data: { id: string; status: string } }>(
      `SELECT data FROM payment WHERE order_id = $1`,
      [order.id]
    )
    expect(payments).toHaveLength(1)
    expect(payments[0].data).toMatchObject({ id: intentId, status: "requires_capture" })

    const event = emulatorEvent("payment_intent.amount_capturable_updated", intentId)
    await waitFor(async () => (await eventRow(event.id))?.status === "processed", {
      description: `event ${event.id} processed`,
    })
    expect(await eventRow(event.id)).toMatchObject({ attempts: 1, resource_id: cart.id })

    // Stripe was answered quickly: the route only records the event and hands it over.
    const deliveries = emu.webhooks.deliveries().filter((d) => d.eventId === event.id)
    expect(deliveries.length).toBeGreaterThan(0)
    for (const delivery of deliveries) {
      expect(delivery.status).toBe("succeeded")
      for (const attempt of delivery.attempts) {
        expect(attempt.durationMs).toBeLessThan(1000)
      }
    }
  })

  describe("20 concurrent duplicate deliveries and the shopper's own completion", () => {
    let cartId: string
    let intentId: string
    let orderId: string

    it("produce exactly one order and one payment", async () => {
      const cart = await stripeCheckout()
      cartId = cart.id
      intentId = intentIdOf(cart)
      emu.webhooks.pause()
      await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      const event = emulatorEvent("payment_intent.amount_capturable_updated", intentId)

      // The shopper's browser comes back while the webhook is completing the cart.
      const shopperCall = async () => {
        await waitFor(
          async () =>
            ["processing", "processed"].includes((await eventRow(event.id))?.status ?? ""),
          { timeoutMs: 15_000, intervalMs: 10, description: `event ${event.id} being processed` }
        )
        return completeCart(e2e.store, cartId)
      }
      const [hooks, shopper] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, () => deliverSigned(event))),
        shopperCall(),
      ])
      for (const hook of hooks) {
        expect(hook.status).toBe(200)
        expect(hook.ms).toBeLessThan(1000)
      }
      expect(shopper.type).toBe("order")

      // Let the event bus run every copy, then the emulator's own delivery too.
      await waitFor(async () => (await eventRow(event.id))?.status === "processed", {
        timeoutMs: 20_000,
        description: `event ${event.id} processed`,
      })
      emu.webhooks.resume()
      await emu.webhooks.flush()
      await sleep(4_500)

      const orders = await ordersOf(cartId)
      expect(orders).toHaveLength(1)
      orderId = orders[0].id
      expect(shopper.type === "order" && shopper.data.id).toBe(orderId)
      expect(await e2e.db.count(`SELECT count(*) FROM payment WHERE cart_id = $1`, [cartId])).toBe(
        1
      )
      // Every copy after the first found the event processed.
      expect(await eventRow(event.id)).toMatchObject({ status: "processed", attempts: 1 })
      expect(capturesAtStripe(intentId)).toBe(0)
    })

    it("and one capture, not repeated by the succeeded event that follows it", async () => {
      await e2e.admin.post(`/admin/orders/${orderId}/capture`)
      expect(capturesAtStripe(intentId)).toBe(1)
      await emu.webhooks.flush()
      const succeeded = emulatorEvent("payment_intent.succeeded", intentId)
      await waitFor(async () => (await eventRow(succeeded.id))?.status === "processed", {
        description: `event ${succeeded.id} processed`,
      })
      // The same event delivered again changes nothing.
      expect((await deliverSigned(succeeded)).body).toMatchObject({ duplicate: true })
      expect(capturesAtStripe(intentId)).toBe(1)
      const [order] = await ordersOf(cartId)
      expect(order.payment_status).toBe("captured")
    })

    it("records a refund made in the Stripe dashboard on the order", async () => {
      await emu.refundFromDashboard(intentId, 500)
      const refund = await waitFor(
        () =>
          e2e.db.one<{ amount: number; reason: string; note: string }>(
            `SELECT amount, reason, note FROM refund WHERE order_id = $1`,
            [orderId]
          ),
        { timeoutMs: 20_000, description: "the dashboard refund on the order" }
      )
      expect(refund).toEqual({ amount: 500, reason: "other", note: "refunded in Stripe" })
      const payment = await e2e.db.one<{ amount_refunded: number }>(
        `SELECT amount_refunded FROM payment WHERE order_id = $1`,
        [orderId]
      )
      expect(payment?.amount_refunded).toBe(500)
      const [order] = await ordersOf(cartId)
      expect(order.payment_status).toBe("partially_refunded")
    })

    it("does not record a refund made from the admin twice", async () => {
      await e2e.admin.post(`/admin/orders/${orderId}/refund`, { amount: 300, reason: "discount" })
      await emu.webhooks.flush()
      const refunded = emu
        .events("charge.refunded")
        .filter(
          (event) => (event.data.object as { payment_intent?: string }).payment_intent === intentId
        )
      expect(refunded.length).toBe(2)
      for (const event of refunded) {
        await waitFor(async () => (await eventRow(event.id))?.status === "processed", {
          timeoutMs: 20_000,
          description: `event ${event.id} processed`,
        })
      }
      const refunds = await e2e.db.query<{ amount: number; reason: string }>(
        `SELECT amount, reason FROM refund WHERE order_id = $1 ORDER BY amount`,
        [orderId]
      )
      expect(refunds).toEqual([
        { amount: 300, reason: "discount" },
        { amount: 500, reason: "other" },
      ])
      const payment = await e2e.db.one<{ amount_refunded: number }>(
        `SELECT amount_refunded FROM payment WHERE order_id = $1`,
        [orderId]
      )
      expect(payment?.amount_refunded).toBe(800)
    })

    it("books a refund the plugin made whose Medusa transaction rolled back", async () => {
      // What the plugin's refund looks like at Stripe when Medusa then rolled back: marked as
      // the plugin's, and older than any request that could still be booking it.
      emu.shiftClock(-120_000)
      const lost = await stripe.refunds.create({
        payment_intent: intentId,
        amount: 200,
        metadata: { medusa_refund_origin: "medusa" },
      })
      emu.shiftClock(120_000)
      const booked = await waitFor(
        () =>
          e2e.db.one<{ amount: number }>(
            `SELECT amount FROM refund WHERE order_id = $1 AND idempotency_key = $2`,
            [orderId, `stripe-refund:${lost.id}`]
          ),
        { timeoutMs: 20_000, description: "the lost plugin refund on the order" }
      )
      expect(booked).toEqual({ amount: 200 })
      const payment = await e2e.db.one<{ amount_refunded: number }>(
        `SELECT amount_refunded FROM payment WHERE order_id = $1`,
        [orderId]
      )
      expect(payment?.amount_refunded).toBe(1000)
    })

    it("notes a dispute on the order", async () => {
      const dispute = await emu.createDispute(intentId, { reason: "fraudulent" })
      const order = await waitFor(
        async () => {
          const [row] = await ordersOf(cartId)
          return row?.metadata?.stripe_dispute ? row : undefined
        },
        { timeoutMs: 20_000, description: "the dispute on the order" }
      )
      expect(order.metadata?.stripe_dispute).toMatchObject({
        id: dispute.id,
        reason: "fraudulent",
        payment_intent: intentId,
      })
      const logs = e2e.backend.logs().join("\n")
      expect(logs).toContain(dispute.id)
    })
  })

  it("says once that the endpoint sends events in another API version", async () => {
    const newer = () => ({
      ...fakeEvent("payment_intent.created", { id: "pi_newer", object: "payment_intent" }),
      api_version: "2026-09-30.endive",
    })
    expect((await deliverSigned(newer())).status).toBe(200)
    expect((await deliverSigned(newer())).status).toBe(200)
    const said = e2e.backend
      .logs()
      .filter((line) => line.includes("sends events in API version 2026-09-30.endive"))
    expect(said).toHaveLength(1)
    expect(said[0]).toContain("--api-version 2024-04-10")
  })

  it("ignores at once an event about a cart another store on the account owns", async () => {
    const event = fakeEvent("payment_intent.succeeded", {
      id: "pi_otherstore",
      object: "payment_intent",
      status: "succeeded",
      metadata: { resource_id: "cart_01OTHERSTORE", cart_id: "cart_01OTHERSTORE" },
    })
    expect((await deliverSigned(event)).status).toBe(200)
    const row = await waitFor(
      async () => {
        const found = await eventRow(event.id)
        return found?.status === "ignored" ? found : undefined
      },
      { timeoutMs: 10_000, description: `event ${event.id} ignored` }
    )
    expect(row.attempts).toBe(1)
    expect(row.last_error).toContain("cart_01OTHERSTORE does not exist in this store's database")
  })

  it("handles succeeded delivered before amount_capturable_updated", async () => {
    const cart = await stripeCheckout()
    const intentId = intentIdOf(cart)
    emu.webhooks.pause()
    emu.webhooks.configure({ reorder: true })
    await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
    // Captured in the Stripe dashboard before any event reached the backend.
    await stripe.paymentIntents.capture(intentId)
    await emu.webhooks.flush()

    const capturable = emulatorEvent("payment_intent.amount_capturable_updated", intentId)
    const succeeded = emulatorEvent("payment_intent.succeeded", intentId)
    const order = await waitForOrder(cart.id)
    for (const event of [capturable, succeeded]) {
      await waitFor(async () => (await eventRow(event.id))?.status === "processed", {
        timeoutMs: 20_000,
        description: `event ${event.id} processed`,
      })
    }
    const firstDelivered = emu.webhooks
      .deliveries()
      .filter((d) => d.eventId === capturable.id || d.eventId === succeeded.id)
      .sort((a, b) => a.attempts[0].at - b.attempts[0].at)[0]
    expect(firstDelivered.eventId).toBe(succeeded.id)

    expect(await ordersOf(cart.id)).toHaveLength(1)
    const payment = await e2e.db.one<{ captured_at: Date | null; data: { status: string } }>(
      `SELECT captured_at, data FROM payment WHERE order_id = $1`,
      [order.id]
    )
    expect(payment?.captured_at).not.toBeNull()
    expect(payment?.data.status).toBe("succeeded")
    // The dashboard's capture only: the backend never captured again.
    expect(capturesAtStripe(intentId)).toBe(1)
    const [after] = await ordersOf(cart.id)
    expect(after.payment_status).toBe("captured")
  })

  it("records a declined payment on the session so the storefront can show it", async () => {
    const cart = await stripeCheckout()
    const intentId = intentIdOf(cart)
    await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_chargeDeclined" })
    const session = await waitFor(
      async () => {
        const row = await e2e.db.one<{
          status: string
          data: { last_payment_error?: { message: string | null } }
        }>(
          `SELECT status, data FROM payment_session WHERE cart_id = $1 AND provider_id = 'stripe'`,
          [cart.id]
        )
        return row?.status === "error" ? row : undefined
      },
      { timeoutMs: 20_000, description: "the failed payment session" }
    )
    expect(session.data.last_payment_error?.message).toEqual(expect.any(String))
    expect(await ordersOf(cart.id)).toHaveLength(0)
  })

  it("records a PaymentIntent canceled in Stripe on the session", async () => {
    const cart = await stripeCheckout()
    const intentId = intentIdOf(cart)
    await stripe.paymentIntents.cancel(intentId)
    await waitFor(
      async () =>
        (
          await e2e.db.one<{ status: string }>(
            `SELECT status FROM payment_session WHERE cart_id = $1 AND provider_id = 'stripe'`,
            [cart.id]
          )
        )?.status === "canceled",
      { timeoutMs: 20_000, description: "the canceled payment session" }
    )
    expect(await ordersOf(cart.id)).toHaveLength(0)
  })

  it("records no refund when an order canceled before capture releases the authorization", async () => {
    const cart = await stripeCheckout()
    const intentId = intentIdOf(cart)
    await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
    const order = await waitForOrder(cart.id)
    await e2e.admin.post(`/admin/orders/${order.id}/cancel`)
    await emu.webhooks.flush()
    const released = emulatorEvent("charge.refunded", intentId)
    await waitFor(async () => (await eventRow(released.id))?.status === "processed", {
      timeoutMs: 20_000,
      description: `event ${released.id} processed`,
    })
    expect(await e2e.db.count(`SELECT count(*) FROM refund WHERE order_id = $1`, [order.id])).toBe(
      0
    )
  })

  it("retries a failing event, then leaves it failed with its id logged", async () => {
    // A cart of this store, and an intent Stripe cannot find: every attempt fails.
    const { cart } = await e2e.store.post<{ cart: Cart }>("/store/carts", {})
    const event = fakeEvent("payment_intent.succeeded", {
      id: "pi_e2emissingcart",
      object: "payment_intent",
      status: "succeeded",
      amount: 3300,
      amount_received: 3300,
      currency: "eur",
      metadata: { resource_id: cart.id, cart_id: cart.id },
    })
    const res = await deliverSigned(event)
    expect(res.status).toBe(200)
    const row = await waitFor(
      async () => {
        const found = await eventRow(event.id)
        return found?.status === "failed" && found.attempts >= 5 ? found : undefined
      },
      { timeoutMs: 40_000, intervalMs: 500, description: `event ${event.id} failed for good` }
    )
    expect(row.attempts).toBe(5)
    expect(row.last_error).toMatch(/pi_e2emissingcart/)
    await sleep(1_500)
    expect((await eventRow(event.id))?.attempts).toBe(5)
    const logs = e2e.backend.logs().filter((line) => line.includes(event.id))
    expect(logs.some((line) => /left as failed/.test(line))).toBe(true)

    // A redelivery from Stripe tries the event again.
    expect((await deliverSigned(event)).body).toEqual({ received: true })
  })

  describe("the retry sweep", () => {
    const RETRIEVE_ROUTE = "GET /v1/payment_intents/:id"
    let sweeper: Backend

    beforeAll(async () => {
      // A backend that looks for stalled events every second; Stripe delivers to the first one.
      sweeper = await e2e.startBackend({ env: { STRIPE_WEBHOOK_RETRY_INTERVAL: "1" } })
    }, 120_000)

    afterAll(async () => {
      emu?.faults.clear()
      await sweeper?.stop()
    })

    const paidCartWithHeldEvents = async () => {
      emu.webhooks.pause()
      const cart = await stripeCheckout()
      const intentId = intentIdOf(cart)
      await emu.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
      return {
        cart,
        intentId,
        event: emulatorEvent("payment_intent.amount_capturable_updated", intentId),
      }
    }

    it("reconciles a payment whose refund event never arrived", async () => {
      const { cart, intentId } = await paidCartWithHeldEvents()
      const completed = await completeCart(e2e.store, cart.id)
      if (completed.type !== "order") throw new Error("no order")
      await e2e.admin.post(`/admin/orders/${completed.data.id}/capture`)
      // Refunded in the dashboard while no event reaches the backend.
      const refund = await emu.refundFromDashboard(intentId, 700)
      const booked = await waitFor(
        () =>
          e2e.db.one<{ amount: number }>(
            `SELECT amount FROM refund WHERE order_id = $1 AND idempotency_key = $2`,
            [completed.data.id, `stripe-refund:${refund.id}`]
          ),
        { timeoutMs: 40_000, description: "the refund booked by the reconciliation sweep" }
      )
      expect(booked).toEqual({ amount: 700 })
    })

    it("releases a paid intent whose session was dropped without the plugin being told", async () => {
      const { cart, intentId } = await paidCartWithHeldEvents()
      // What Medusa does when a cart changes region, had cancelling the intent then failed.
      await e2e.db.query(`DELETE FROM payment_session WHERE cart_id = $1`, [cart.id])
      const released = await waitFor(
        () => (emu.paymentIntent(intentId)?.status === "canceled" ? true : undefined),
        { timeoutMs: 40_000, description: "the orphaned authorization released by the sweep" }
      )
      expect(released).toBe(true)
    })

    it("hands an event that failed every attempt back once Stripe answers again", async () => {
      const { cart, event } = await paidCartWithHeldEvents()
      emu.faults.setFailureRate(1, { kinds: ["500"], routes: [RETRIEVE_ROUTE] })
      expect((await deliverSigned(event, sweeper)).status).toBe(200)
      await waitFor(
        async () => {
          const row = await eventRow(event.id)
          return row?.status === "failed" && row.attempts === 5
        },
        { timeoutMs: 60_000, intervalMs: 200, description: `event ${event.id} failed 5 times` }
      )
      expect(await ordersOf(cart.id)).toHaveLength(0)

      emu.faults.clear()
      const order = await waitForOrder(cart.id)
      expect(order.payment_status).toBe("awaiting")
      // The order is there before the event is marked: its reconciliation runs in between.
      expect(await processedRow(event.id)).toMatchObject({ status: "processed", attempts: 6 })
      expect(
        sweeper.logs().some((line) => line.includes(`${event.id}`) && /handed back/.test(line))
      ).toBe(true)
    })

    it("processes an event the event bus lost, fetching it from Stripe", async () => {
      const { cart, event } = await paidCartWithHeldEvents()
      // Recorded by a route whose process died before the event bus ran the job.
      await e2e.db.query(
        `INSERT INTO stripe_webhook_event (id, type, resource_id, status, attempts, created_at, updated_at)
         VALUES ($1, $2, $3, 'received', 0, now() - interval '2 minutes', now() - interval '2 minutes')`,
        [event.id, event.type, cart.id]
      )
      const order = await waitForOrder(cart.id)
      expect(await ordersOf(cart.id)).toEqual([order])
      expect(await processedRow(event.id)).toMatchObject({ status: "processed", attempts: 1 })
    })

    it("gives up an event Stripe does not know", async () => {
      const event = fakeEvent("payment_intent.succeeded", {
        id: "pi_e2eunknowntostripe",
        object: "payment_intent",
        metadata: { resource_id: "cart_e2eunknown" },
      })
      await e2e.db.query(
        `INSERT INTO stripe_webhook_event (id, type, resource_id, status, attempts, created_at, updated_at)
         VALUES ($1, $2, 'cart_e2eunknown', 'failed', 5, now() - interval '1 minute', now() - interval '1 minute')`,
        [event.id, event.type]
      )
      const row = await waitFor(
        async () => {
          const found = await eventRow(event.id)
          return found?.last_error?.includes("no longer has") ? found : undefined
        },
        { timeoutMs: 30_000, intervalMs: 200, description: `event ${event.id} given up` }
      )
      expect(row).toMatchObject({ status: "failed", attempts: 60 })
      await sleep(2_500)
      expect(await eventRow(event.id)).toMatchObject({ status: "failed", attempts: 60 })
    })
  })

  it("keeps the secrets out of the logs", () => {
    const logs = e2e.backends.flatMap((b) => b.logs()).join("\n")
    expect(logs).not.toContain(e2e.secrets.apiKey)
    expect(logs).not.toContain(e2e.secrets.webhookSecret)
    expect(logs).toContain("payment_intent.amount_capturable_updated, payment_intent.succeeded")
  })

  it("without webhook_secret: logs a clear error at start-up and answers 503", async () => {
    const backend = await e2e.startBackend({
      env: { STRIPE_WEBHOOK_SECRET: "" },
      registerWebhook: false,
    })
    const body = JSON.stringify(fakeEvent("payment_intent.succeeded", { id: "pi_x" }))
    const res = await postHook(body, sign(body), backend)
    expect(res.status).toBe(503)
    expect(String(res.body.message)).toContain('"webhook_secret"')
    expect(backend.logs().join("\n")).toMatch(/option "webhook_secret" is not set/)
    await backend.stop()
  })
})
