import Stripe from "stripe"
import { seededIds, StripeEmulatorClient, type StripeEmulator } from "../../src/emulator"
import { API_KEY, rawRequest, startEmulator, stripeError, stripeFor } from "./helpers"

let emu: StripeEmulator
let stripe: Stripe

beforeAll(async () => {
  emu = await startEmulator({ seed: 42 })
  stripe = stripeFor(emu)
})

afterEach(() => {
  emu.faults.clear()
})

afterAll(() => emu.stop())

const params = (
  extra: Partial<Stripe.PaymentIntentCreateParams> = {}
): Stripe.PaymentIntentCreateParams => ({
  amount: 1500,
  currency: "eur",
  payment_method_types: ["card"],
  ...extra,
})

/** Sends parameters the SDK types would not allow. */
const loosely = <T>(value: unknown): T => value as T

describe("Authentication", () => {
  it("answers 401 without an API key", async () => {
    const response = await rawRequest(emu, "GET", "/v1/payment_intents")
    expect(response.status).toBe(401)
    expect(response.body).toMatchObject({
      error: {
        type: "invalid_request_error",
        message: expect.stringMatching(/^You did not provide an API key/),
      },
    })
  })

  it("answers 401 for a malformed key", async () => {
    const error = await stripeError(() => stripeFor(emu, {}, "garbage").paymentIntents.list())
    expect(error).toMatchObject({ statusCode: 401, type: "StripeAuthenticationError" })
    expect(error.message).toMatch(/^Invalid API Key provided/)
  })

  it("answers 403 for a publishable key", async () => {
    const error = await stripeError(() => stripeFor(emu, {}, "pk_test_123").paymentIntents.list())
    expect(error).toMatchObject({ statusCode: 403, type: "StripePermissionError" })
    expect(error.message).toContain("publishable API key")
  })

  it("accepts restricted keys, live keys and Basic auth", async () => {
    await expect(stripeFor(emu, {}, "rk_test_abc").paymentIntents.list()).resolves.toBeDefined()
    await expect(stripeFor(emu, {}, "sk_live_abc").paymentIntents.list()).resolves.toBeDefined()
    const basic = Buffer.from(`${API_KEY}:`).toString("base64")
    const response = await rawRequest(emu, "GET", "/v1/customers", {
      headers: { Authorization: `Basic ${basic}` },
    })
    expect(response.status).toBe(200)
  })
})

describe("Routing and headers", () => {
  it("answers an unknown URL with 404 Unrecognized request URL", async () => {
    const response = await rawRequest(emu, "GET", "/v1/nothing_here", {
      headers: { Authorization: `Bearer ${API_KEY}` },
    })
    expect(response.status).toBe(404)
    expect(response.body).toMatchObject({
      error: {
        type: "invalid_request_error",
        message: expect.stringMatching(/^Unrecognized request URL \(GET: \/v1\/nothing_here\)/),
      },
    })
  })

  it("says when a real Stripe endpoint is not emulated", async () => {
    const response = await rawRequest(
      emu,
      "POST",
      "/v1/payment_intents/pi_1/increment_authorization",
      {
        headers: { Authorization: `Bearer ${API_KEY}` },
        body: "amount=100",
      }
    )
    expect(response.status).toBe(404)
    expect(JSON.stringify(response.body)).toContain("does not implement")
  })

  it("sends Request-Id and echoes Stripe-Version on every response", async () => {
    const intent = await stripe.paymentIntents.create(params())
    expect(intent.lastResponse.requestId).toMatch(/^req_[A-Za-z0-9]{14}$/)
    expect(intent.lastResponse.headers["stripe-version"]).toBe("2024-04-10")
    const error = await stripeError(() => stripe.paymentIntents.retrieve("pi_missing"))
    expect(error.requestId).toMatch(/^req_/)
  })
})

describe("Request validation against the OpenAPI schema", () => {
  it("refuses an unknown parameter with parameter_unknown", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create(loosely({ ...params(), surprise: "yes" }))
    )
    expect(error).toMatchObject({
      statusCode: 400,
      type: "StripeInvalidRequestError",
      code: "parameter_unknown",
      param: "surprise",
      message: "Received unknown parameter: surprise",
    })
  })

  it("names nested parameters in bracket form", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create(
        loosely({ ...params(), automatic_payment_methods: { enabled: true, bogus: "1" } })
      )
    )
    expect(error).toMatchObject({
      code: "parameter_unknown",
      param: "automatic_payment_methods[bogus]",
    })
    const item = await stripeError(() =>
      stripe.paymentIntents.create(
        loosely({ ...params(), payment_method_types: ["card", { a: "b" }] })
      )
    )
    expect(item.param).toBe("payment_method_types[1]")
  })

  it("refuses a wrong type with parameter_invalid_integer", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create(loosely({ ...params(), amount: "lots" }))
    )
    expect(error).toMatchObject({
      code: "parameter_invalid_integer",
      param: "amount",
      message: "Invalid integer: lots",
    })
  })

  it("refuses a value outside an enum", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create(loosely({ ...params(), capture_method: "sometimes" }))
    )
    expect(error).toMatchObject({
      statusCode: 400,
      param: "capture_method",
      message: "Invalid capture_method: must be one of automatic, automatic_async, or manual",
    })
  })

  it("refuses a missing required parameter with parameter_missing", async () => {
    const error = await stripeError(() => stripe.paymentIntents.create(loosely({ amount: 1000 })))
    expect(error).toMatchObject({
      code: "parameter_missing",
      param: "currency",
      message: "Missing required param: currency.",
    })
  })

  it("refuses an empty string for a parameter that cannot be unset", async () => {
    const error = await stripeError(() =>
      stripe.paymentIntents.create(loosely({ ...params(), amount: "" }))
    )
    expect(error).toMatchObject({ code: "parameter_invalid_empty", param: "amount" })
  })

  it("validates query parameters of GET requests", async () => {
    const error = await stripeError(() => stripe.paymentIntents.list(loosely({ colour: "blue" })))
    expect(error).toMatchObject({ code: "parameter_unknown", param: "colour" })
  })
})

describe("Idempotency", () => {
  it("replays the stored response for the same key and parameters", async () => {
    const first = await stripe.paymentIntents.create(params(), { idempotencyKey: "replay-1" })
    const second = await stripe.paymentIntents.create(params(), { idempotencyKey: "replay-1" })
    expect(second.id).toBe(first.id)
    expect(first.lastResponse.headers["idempotent-replayed"]).toBeUndefined()
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true")
    expect(emu.paymentIntents().filter((intent) => intent.id === first.id)).toHaveLength(1)
  })

  it("refuses the same key with other parameters", async () => {
    await stripe.paymentIntents.create(params(), { idempotencyKey: "conflict-1" })
    const error = await stripeError(() =>
      stripe.paymentIntents.create(params({ amount: 9999 }), { idempotencyKey: "conflict-1" })
    )
    expect(error).toMatchObject({ statusCode: 400, type: "StripeIdempotencyError" })
    expect(error.message).toMatch(
      /^Keys for idempotent requests can only be used with the same parameters they were first used with/
    )
  })

  it("refuses the same key on another endpoint", async () => {
    await stripe.customers.create({ email: "key@example.com" }, { idempotencyKey: "path-1" })
    const error = await stripeError(() =>
      stripe.paymentIntents.create(params(), { idempotencyKey: "path-1" })
    )
    expect(error.type).toBe("StripeIdempotencyError")
  })

  it("stores 4xx results: a declined confirmation replays its 402", async () => {
    const intent = await stripe.paymentIntents.create(params())
    const confirm = () =>
      stripe.paymentIntents.confirm(
        intent.id,
        { payment_method: "pm_card_chargeDeclined" },
        { idempotencyKey: "decline-1" }
      )
    const first = await stripeError(confirm)
    const second = await stripeError(confirm)
    expect(second).toMatchObject({ statusCode: 402, code: "card_declined" })
    expect(second.headers["idempotent-replayed"]).toBe("true")
    expect(first.headers["idempotent-replayed"]).toBeUndefined()
    expect(emu.charges().filter((charge) => charge.payment_intent === intent.id)).toHaveLength(1)
  })

  it("does not store requests that failed validation", async () => {
    await stripeError(() =>
      stripe.paymentIntents.create(loosely({ ...params(), amount: "x" }), {
        idempotencyKey: "invalid-1",
      })
    )
    const intent = await stripe.paymentIntents.create(params(), { idempotencyKey: "invalid-1" })
    expect(intent.status).toBe("requires_payment_method")
  })

  it("lets only one of two concurrent requests with the same key run (409 for the other)", async () => {
    emu.faults.setLatency(250, "POST /v1/payment_intents")
    const results = await Promise.allSettled([
      stripe.paymentIntents.create(params({ metadata: { race: "1" } }), {
        idempotencyKey: "race-1",
      }),
      stripe.paymentIntents.create(params({ metadata: { race: "1" } }), {
        idempotencyKey: "race-1",
      }),
    ])
    const fulfilled = results.filter((result) => result.status === "fulfilled")
    const rejected = results.filter(
      (result): result is PromiseRejectedResult => result.status === "rejected"
    )
    expect(fulfilled).toHaveLength(1)
    expect(rejected[0].reason).toMatchObject({ statusCode: 409, type: "StripeIdempotencyError" })
    expect(emu.paymentIntents().filter((intent) => intent.metadata.race === "1")).toHaveLength(1)
  })
})

describe("Fault injection", () => {
  it("fails before running: nothing changes, nothing is stored, a retry runs the request", async () => {
    emu.faults.failNext(1, { route: "POST /v1/customers", kind: "500" })
    const create = () =>
      stripe.customers.create({ email: "before@example.com" }, { idempotencyKey: "before-1" })
    const error = await stripeError(create)
    expect(error).toMatchObject({ statusCode: 500, type: "StripeAPIError" })
    const named = () =>
      emu.customers().filter((c) => "email" in c && c.email === "before@example.com")
    expect(named()).toHaveLength(0)
    const customer = await create()
    expect(customer.lastResponse.headers["idempotent-replayed"]).toBeUndefined()
    expect(named()).toHaveLength(1)
  })

  it("fails after running: the SDK retry with the same key gets the same object", async () => {
    const retrying = stripeFor(emu, { maxNetworkRetries: 1 })
    emu.resetCounters()
    emu.faults.failNext(1, { route: "POST /v1/payment_intents", kind: "500", when: "after" })
    const intent = await retrying.paymentIntents.create(params({ metadata: { after: "1" } }), {
      idempotencyKey: "after-1",
    })
    expect(intent.lastResponse.headers["idempotent-replayed"]).toBe("true")
    expect(emu.paymentIntents().filter((found) => found.metadata.after === "1")).toHaveLength(1)
    expect(emu.counters()["POST /v1/payment_intents"]).toBe(2)
    const log = emu.requestLog().filter((entry) => entry.idempotencyKey === "after-1")
    expect(log.map((entry) => [entry.status, entry.fault, entry.replayed])).toEqual([
      [500, "500", false],
      [200, null, true],
    ])
  })

  it("answers 429 with Stripe-Should-Retry", async () => {
    emu.faults.failNext(1, { route: "GET /v1/customers", kind: "429" })
    const error = await stripeError(() => stripe.customers.list())
    expect(error).toMatchObject({
      statusCode: 429,
      type: "StripeRateLimitError",
      code: "rate_limit",
    })
    expect(error.headers["stripe-should-retry"]).toBe("true")
    expect(error.headers["retry-after"]).toBeDefined()
  })

  it("drops the connection for reset", async () => {
    emu.faults.failNext(2, { route: "GET /v1/customers", kind: "reset" })
    const error = await stripeError(() => stripe.customers.list())
    expect(error.type).toBe("StripeConnectionError")
  })

  it("holds the request past the client timeout for timeout", async () => {
    emu.faults.failNext(1, { route: "GET /v1/customers", kind: "timeout", holdMs: 300 })
    const impatient = stripeFor(emu, { timeout: 100 })
    const error = await stripeError(() => impatient.customers.list())
    expect(error.type).toBe("StripeConnectionError")
    expect(error.message).toContain("timeout")
  })

  it("adds latency to a route only", async () => {
    emu.faults.setLatency(60, "GET /v1/customers/:id")
    const customer = await stripe.customers.create({ email: "slow@example.com" })
    emu.clearRequestLog()
    const started = Date.now()
    await stripe.customers.retrieve(customer.id)
    expect(Date.now() - started).toBeGreaterThanOrEqual(55)
    await stripe.customers.list({ limit: 1 })
    const [slow, fast] = emu.requestLog()
    expect(slow).toMatchObject({ route: "GET /v1/customers/:id" })
    expect(slow.durationMs).toBeGreaterThanOrEqual(55)
    expect(fast).toMatchObject({ route: "GET /v1/customers" })
    expect(fast.durationMs).toBeLessThan(55)
  })

  it("fails a share of requests, the same way for the same seed", async () => {
    const pattern = async (emulator: StripeEmulator): Promise<boolean[]> => {
      const client = stripeFor(emulator)
      emulator.faults.setFailureRate(0.5, { kinds: ["500", "429"], routes: ["GET /v1/customers"] })
      const outcomes: boolean[] = []
      for (let i = 0; i < 16; i++) {
        outcomes.push(
          await client.customers.list().then(
            () => true,
            () => false
          )
        )
      }
      return outcomes
    }
    const other = await startEmulator({ seed: 42 })
    try {
      emu.faults.clear()
      const first = await pattern(emu)
      const second = await pattern(other)
      expect(first).toEqual(second)
      expect(first.filter(Boolean).length).toBeGreaterThan(0)
      expect(first.filter((ok) => !ok).length).toBeGreaterThan(0)
    } finally {
      await other.stop()
    }
  })
})

describe("Accounting", () => {
  it("counts requests per route template", async () => {
    emu.resetCounters()
    const intent = await stripe.paymentIntents.create(params())
    await stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_visa" })
    await stripe.paymentIntents.retrieve(intent.id)
    await stripe.paymentIntents.retrieve(intent.id)
    expect(emu.counters()).toEqual({
      "POST /v1/payment_intents": 1,
      "POST /v1/payment_intents/:id/confirm": 1,
      "GET /v1/payment_intents/:id": 2,
    })
  })

  it("logs method, path, route, status, key and duration", async () => {
    emu.clearRequestLog()
    await stripe.customers.create({ email: "log@example.com" }, { idempotencyKey: "log-1" })
    const [entry] = emu.requestLog()
    expect(entry).toMatchObject({
      method: "POST",
      path: "/v1/customers",
      route: "POST /v1/customers",
      status: 200,
      idempotencyKey: "log-1",
      replayed: false,
    })
    expect(entry.durationMs).toEqual(expect.any(Number))
  })
})

describe("Controls over HTTP", () => {
  const client = (): StripeEmulatorClient => new StripeEmulatorClient(emu.url)

  it("drives a 3D Secure payment and reads state", async () => {
    const intent = await stripe.paymentIntents.create(params({ capture_method: "manual" }))
    const confirmed = await client().confirmPaymentIntent(intent.id, {
      payment_method: "pm_card_threeDSecure2Required",
    })
    expect(confirmed.status).toBe("requires_action")
    expect((await client().completeAction(intent.id)).status).toBe("requires_capture")
    expect((await client().paymentIntent(intent.id)).status).toBe("requires_capture")
  })

  it("returns the intent of a declined shopper confirmation instead of failing", async () => {
    const intent = await stripe.paymentIntents.create(params())
    const declined = await client().confirmPaymentIntent(intent.id, {
      payment_method: "pm_card_chargeDeclined",
    })
    expect(declined.status).toBe("requires_payment_method")
    expect(declined.last_payment_error?.decline_code).toBe("generic_decline")
  })

  it("injects faults and reads counters", async () => {
    await client().resetCounters()
    await client().faults.failNext(1, { route: "GET /v1/customers", kind: "500" })
    await stripeError(() => stripe.customers.list())
    expect(await client().counters()).toEqual({ "GET /v1/customers": 1 })
    expect((await client().requestLog()).pop()).toMatchObject({ status: 500, fault: "500" })
  })

  it("reports errors of controls", async () => {
    await expect(client().completeAction("pi_unknown")).rejects.toThrow(
      "No such payment_intent: 'pi_unknown'"
    )
    const response = await rawRequest(emu, "POST", "/_emulator/nothing")
    expect(response.status).toBe(404)
  })

  it("sends the shopper back to return_url from the hosted authorization page", async () => {
    const intent = await stripe.paymentIntents.create(params())
    const confirmed = await stripe.paymentIntents.confirm(intent.id, {
      payment_method: "pm_card_threeDSecure2Required",
      return_url: "https://shop.example/done",
    })
    const page = await rawRequest(
      emu,
      "GET",
      new URL(String(confirmed.next_action?.redirect_to_url?.url)).pathname
    )
    expect(page.status).toBe(200)
    expect(page.text).toContain("Authorize test payment")
    const done = await rawRequest(emu, "GET", `/_emulator/hosted/${intent.id}/complete`)
    expect(done.status).toBe(302)
    const location = new URL(String(done.headers.location))
    expect(location.origin + location.pathname).toBe("https://shop.example/done")
    expect(location.searchParams.get("payment_intent")).toBe(intent.id)
    expect(location.searchParams.get("redirect_status")).toBe("succeeded")
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe("succeeded")
  })

  it("resets all data but keeps webhook endpoints", async () => {
    const other = await startEmulator()
    try {
      const remote = new StripeEmulatorClient(other.url)
      await remote.webhooks.addEndpoint({ url: "http://127.0.0.1:9/hooks" })
      await stripeFor(other).customers.create({ email: "x@example.com" })
      await remote.reset()
      expect((await remote.state()).customers).toHaveLength(0)
      expect(other.webhooks.endpoints()).toHaveLength(1)
    } finally {
      await other.stop()
    }
  })
})

describe("Emulator options", () => {
  it("stamps objects with the injected clock and makes ids with the given generator", async () => {
    const fixed = Date.UTC(2024, 4, 1, 12, 0, 0)
    const other = await startEmulator({ clock: () => fixed, idGenerator: seededIds(7) })
    const twin = await startEmulator({ clock: () => fixed, idGenerator: seededIds(7) })
    try {
      const a = await stripeFor(other).customers.create({ email: "clock@example.com" })
      const b = await stripeFor(twin).customers.create({ email: "clock@example.com" })
      expect(a.created).toBe(fixed / 1000)
      expect(a.id).toBe(b.id)
    } finally {
      await other.stop()
      await twin.stop()
    }
  })

  it("tells listeners about every request", async () => {
    const seen: string[] = []
    const stop = emu.onRequest((entry) => seen.push(`${entry.route} ${entry.status}`))
    await stripe.customers.list({ limit: 1 })
    stop()
    await stripe.customers.list({ limit: 1 })
    expect(seen).toEqual(["GET /v1/customers 200"])
  })
})
