import type Stripe from "stripe"
import type { StripeEmulator } from "../../src/emulator"
import { eventually, startEmulator, stripeFor, WebhookReceiver } from "./helpers"

let emu: StripeEmulator
let stripe: Stripe
let receiver: WebhookReceiver

beforeAll(async () => {
  emu = await startEmulator({ webhookRetry: { attempts: 3, baseDelayMs: 10 } })
  stripe = stripeFor(emu)
  receiver = await new WebhookReceiver().start()
})

afterEach(async () => {
  await emu.webhooks.flush()
  emu.reset({ webhookEndpoints: true })
  receiver.clear()
})

afterAll(async () => {
  await emu.stop()
  await receiver.stop()
})

const pay = (): Promise<Stripe.PaymentIntent> =>
  stripe.paymentIntents.create({
    amount: 1000,
    currency: "eur",
    payment_method_types: ["card"],
    payment_method: "pm_card_visa",
    confirm: true,
  })

describe("Webhook endpoints API", () => {
  it("creates an endpoint with a whsec_ secret shown only once, lists and deletes it", async () => {
    const endpoint = await stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ["payment_intent.succeeded", "charge.refunded"],
    })
    expect(endpoint).toMatchObject({
      object: "webhook_endpoint",
      url: receiver.url,
      status: "enabled",
      enabled_events: ["payment_intent.succeeded", "charge.refunded"],
    })
    expect(endpoint.secret).toMatch(/^whsec_/)
    const list = await stripe.webhookEndpoints.list()
    expect(list.data.map((found) => found.id)).toEqual([endpoint.id])
    expect(list.data[0].secret).toBeUndefined()
    expect(await stripe.webhookEndpoints.del(endpoint.id)).toMatchObject({ deleted: true })
    expect((await stripe.webhookEndpoints.list()).data).toHaveLength(0)
  })

  it("refuses an event type that does not exist", async () => {
    await expect(
      stripe.webhookEndpoints.create({
        url: receiver.url,
        enabled_events: [
          "payment_intent.exploded" as Stripe.WebhookEndpointCreateParams.EnabledEvent,
        ],
      })
    ).rejects.toMatchObject({ statusCode: 400, param: "enabled_events[0]" })
  })
})

describe("Webhook delivery", () => {
  it("signs each delivery so that stripe.webhooks.constructEvent accepts it", async () => {
    const { secret } = emu.webhooks.addEndpoint({ url: receiver.url })
    const intent = await stripe.paymentIntents.create(
      { amount: 1000, currency: "eur", payment_method_types: ["card"] },
      { idempotencyKey: "hook-key-1" }
    )
    await emu.webhooks.flush()
    expect(receiver.received).toHaveLength(1)
    const [hook] = receiver.received
    expect(hook.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    const event = stripe.webhooks.constructEvent(hook.body, hook.signature, secret)
    expect(event).toMatchObject({
      object: "event",
      type: "payment_intent.created",
      api_version: "2024-04-10",
      livemode: false,
      request: { idempotency_key: "hook-key-1" },
      data: { object: { id: intent.id, status: "requires_payment_method" } },
    })
    expect(event.request?.id).toBe(intent.lastResponse.requestId)
    expect(() => stripe.webhooks.constructEvent(hook.body, hook.signature, "whsec_wrong")).toThrow()
  })

  it("uses the secret given to addEndpoint", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url, secret: "whsec_fixed" })
    await stripe.customers.create({ email: "a@example.com" })
    await emu.webhooks.flush()
    const [hook] = receiver.received
    expect(stripe.webhooks.constructEvent(hook.body, hook.signature, "whsec_fixed").type).toBe(
      "customer.created"
    )
  })

  it("sends only the enabled events", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url, enabledEvents: ["payment_intent.succeeded"] })
    await pay()
    await emu.webhooks.flush()
    expect(receiver.types()).toEqual(["payment_intent.succeeded"])
  })

  it("snapshots the object as it was when the event happened", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url, enabledEvents: ["payment_intent.*"] })
    const intent = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "eur",
      payment_method_types: ["card"],
      capture_method: "manual",
    })
    await stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_visa" })
    await stripe.paymentIntents.capture(intent.id)
    await emu.webhooks.flush()
    const statuses = receiver.received.map(
      (hook) => `${hook.event.type}:${(hook.event.data.object as Stripe.PaymentIntent).status}`
    )
    expect(statuses).toEqual([
      "payment_intent.created:requires_payment_method",
      "payment_intent.amount_capturable_updated:requires_capture",
      "payment_intent.succeeded:succeeded",
    ])
  })

  it("retries a delivery the receiver answers with 500, with backoff", async () => {
    receiver.status = (attempt) => (attempt <= 2 ? 500 : 200)
    emu.webhooks.addEndpoint({ url: receiver.url })
    await stripe.customers.create({ email: "retry@example.com" })
    await emu.webhooks.flush()
    expect(receiver.received).toHaveLength(1)
    const [delivery] = emu.webhooks.deliveries()
    expect(delivery).toMatchObject({
      type: "customer.created",
      status: "succeeded",
      url: receiver.url,
    })
    expect(delivery.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 200])
    expect(delivery.attempts[2].at - delivery.attempts[1].at).toBeGreaterThanOrEqual(
      delivery.attempts[1].at - delivery.attempts[0].at
    )
  })

  it("gives up after the configured attempts", async () => {
    receiver.status = () => 503
    emu.webhooks.addEndpoint({ url: receiver.url })
    const customer = await stripe.customers.create({ email: "down@example.com" })
    await emu.webhooks.flush()
    const [delivery] = emu.webhooks.deliveries()
    expect(delivery).toMatchObject({ status: "failed" })
    expect(delivery.attempts).toHaveLength(3)
    const event = (await stripe.events.list({ type: "customer.created" })).data[0]
    expect((event.data.object as Stripe.Customer).id).toBe(customer.id)
    expect(event.pending_webhooks).toBe(1)
  })

  it("records connection errors to an endpoint that is down", async () => {
    emu.webhooks.addEndpoint({ url: "http://127.0.0.1:9/unreachable" })
    await stripe.customers.create({ email: "nobody@example.com" })
    await emu.webhooks.flush()
    const [delivery] = emu.webhooks.deliveries()
    expect(delivery.status).toBe("failed")
    expect(delivery.attempts[0]).toMatchObject({ status: null, error: expect.any(String) })
  })

  it("delivers every event k+1 times with duplicates: k", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    emu.webhooks.configure({ duplicates: 2 })
    await stripe.customers.create({ email: "dup@example.com" })
    await emu.webhooks.flush()
    expect(receiver.received).toHaveLength(3)
    expect(new Set(receiver.received.map((hook) => hook.event.id)).size).toBe(1)
  })

  it("delivers only the next event twice with duplicateNext", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    emu.webhooks.duplicateNext(1)
    await stripe.customers.create({ email: "one@example.com" })
    await stripe.customers.create({ email: "two@example.com" })
    await emu.webhooks.flush()
    const emails = receiver.received.map(
      (hook) => (hook.event.data.object as Stripe.Customer).email
    )
    expect(emails).toEqual(["one@example.com", "one@example.com", "two@example.com"])
  })

  it("holds events while paused and delivers them on flush, newest first with reorder", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    emu.webhooks.pause()
    emu.webhooks.configure({ reorder: true })
    for (const email of ["1@example.com", "2@example.com", "3@example.com"]) {
      await stripe.customers.create({ email })
    }
    expect(receiver.received).toHaveLength(0)
    expect(emu.webhooks.deliveries().map((delivery) => delivery.status)).toEqual([
      "queued",
      "queued",
      "queued",
    ])
    await emu.webhooks.flush()
    const emails = receiver.received.map(
      (hook) => (hook.event.data.object as Stripe.Customer).email
    )
    expect(emails).toEqual(["3@example.com", "2@example.com", "1@example.com"])
  })

  it("delivers held events when resumed", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    emu.webhooks.pause()
    await stripe.customers.create({ email: "held@example.com" })
    expect(receiver.received).toHaveLength(0)
    emu.webhooks.resume()
    await eventually(() => receiver.received.length === 1)
  })

  it("waits delayMs before delivering", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    emu.webhooks.configure({ delayMs: 80 })
    const started = Date.now()
    await stripe.customers.create({ email: "later@example.com" })
    await eventually(() => receiver.received.length === 1)
    expect(Date.now() - started).toBeGreaterThanOrEqual(75)
  })

  it("redelivers an event on demand", async () => {
    emu.webhooks.addEndpoint({ url: receiver.url })
    await stripe.customers.create({ email: "again@example.com" })
    await emu.webhooks.flush()
    const eventId = receiver.received[0].event.id
    const deliveries = await emu.webhooks.redeliver(eventId)
    expect(deliveries).toHaveLength(1)
    expect(deliveries[0]).toMatchObject({ eventId, redelivery: true, status: "succeeded" })
    expect(receiver.received.map((hook) => hook.event.id)).toEqual([eventId, eventId])
    await expect(emu.webhooks.redeliver("evt_missing")).rejects.toThrow("No such event")
  })
})

describe("Events API", () => {
  it("retrieves and lists events by type", async () => {
    const intent = await pay()
    const succeeded = await stripe.events.list({ type: "payment_intent.succeeded" })
    expect(succeeded.data).toHaveLength(1)
    expect((succeeded.data[0].data.object as Stripe.PaymentIntent).id).toBe(intent.id)
    const all = await stripe.events.list({ type: "payment_intent.*" })
    expect(all.data.map((event) => event.type)).toEqual([
      "payment_intent.succeeded",
      "payment_intent.created",
    ])
    const one = await stripe.events.retrieve(succeeded.data[0].id)
    expect(one.id).toBe(succeeded.data[0].id)
    expect(one.pending_webhooks).toBe(0)
    await expect(stripe.events.retrieve("evt_missing")).rejects.toMatchObject({
      statusCode: 404,
      message: "No such event: 'evt_missing'",
    })
  })

  it("marks events of control actions with a null request", async () => {
    const intent = await pay()
    await emu.createDispute(intent.id)
    const [event] = emu.events("charge.dispute.created")
    expect(event.request).toEqual({ id: null, idempotency_key: null })
  })
})
