import {
  HANDLED_EVENT_TYPES,
  WEBHOOK_JOB_OPTIONS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_MAX_ROUNDS,
  attemptOfDelivery,
  backoffDelay,
  cartLockName,
  isFinalAttempt,
  isHandledEventType,
  isPluginRefund,
  isTransientDatabaseError,
  lostEventAge,
  nextRoundDelay,
  parseWebhookJob,
  planWebhookEvent,
  resourceIdOf,
  resourceKind,
  toWebhookJob,
  type WebhookAction,
} from "../../src/core/webhook-events"

const intent = (
  metadata: Record<string, string> | undefined,
  extra: Record<string, unknown> = {}
) => ({
  id: "pi_123",
  object: "payment_intent",
  status: "succeeded",
  ...(metadata ? { metadata } : {}),
  ...extra,
})

const event = (type: string, object: unknown) => ({
  id: "evt_1",
  type,
  created: 1_700_000_000,
  livemode: false,
  data: { object },
})

const CART = { resource_id: "cart_01", cart_id: "cart_01" }
const PAYCOL = { resource_id: "paycol_01" }

describe("planWebhookEvent: PaymentIntent events", () => {
  it.each<[string, Record<string, string>, WebhookAction, string]>([
    ["payment_intent.amount_capturable_updated", CART, "complete_cart", "cart:cart_01"],
    ["payment_intent.succeeded", CART, "complete_cart", "cart:cart_01"],
    ["payment_intent.payment_failed", CART, "record_failure", "cart:cart_01"],
    ["payment_intent.canceled", CART, "record_cancel", "cart:cart_01"],
    [
      "payment_intent.amount_capturable_updated",
      PAYCOL,
      "authorize_collection",
      "paycol:paycol_01",
    ],
    ["payment_intent.succeeded", PAYCOL, "authorize_collection", "paycol:paycol_01"],
    ["payment_intent.payment_failed", PAYCOL, "record_failure", "paycol:paycol_01"],
    ["payment_intent.canceled", PAYCOL, "record_cancel", "paycol:paycol_01"],
  ])("%s for %j -> %s under %s", (type, metadata, action, lockName) => {
    const plan = planWebhookEvent(event(type, intent(metadata)))
    expect(plan).toEqual({
      action,
      resourceId: metadata.resource_id,
      paymentIntentId: "pi_123",
      lockName,
    })
  })

  it("falls back to metadata.cart_id when resource_id is absent", () => {
    const plan = planWebhookEvent(event("payment_intent.succeeded", intent({ cart_id: "cart_9" })))
    expect(plan).toMatchObject({ action: "complete_cart", resourceId: "cart_9" })
  })

  it.each([
    ["no metadata", intent(undefined)],
    ["empty metadata", intent({})],
    ["an empty resource id", intent({ resource_id: "" })],
    ["a resource that is neither cart nor payment collection", intent({ resource_id: "swap_1" })],
    ["no intent id", { object: "payment_intent", metadata: CART }],
    ["another object type", { id: "ch_1", object: "charge", metadata: CART }],
  ])("ignores a succeeded event with %s", (_label, object) => {
    const plan = planWebhookEvent(event("payment_intent.succeeded", object))
    expect(plan.action).toBe("ignore")
    expect(plan.reason).toEqual(expect.any(String))
    expect(plan.lockName).toBeUndefined()
  })
})

describe("planWebhookEvent: charges and disputes", () => {
  it.each<[string, unknown, WebhookAction, string | undefined]>([
    [
      "charge.refunded",
      { id: "ch_1", object: "charge", payment_intent: "pi_9" },
      "reconcile",
      "pi_9",
    ],
    [
      "charge.refunded",
      { id: "ch_1", object: "charge", payment_intent: { id: "pi_8", object: "payment_intent" } },
      "reconcile",
      "pi_8",
    ],
    [
      "charge.dispute.created",
      { id: "dp_1", object: "dispute", payment_intent: "pi_7", charge: "ch_7" },
      "reconcile",
      "pi_7",
    ],
    ...[
      "charge.captured",
      "charge.refund.updated",
      "charge.dispute.updated",
      "charge.dispute.closed",
      "charge.dispute.funds_withdrawn",
      "charge.dispute.funds_reinstated",
    ].map((type): [string, unknown, WebhookAction, string | undefined] => [
      type,
      { id: "obj_1", payment_intent: "pi_6" },
      "reconcile",
      "pi_6",
    ]),
    [
      "charge.refunded",
      { id: "ch_2", object: "charge", payment_intent: null },
      "ignore",
      undefined,
    ],
    [
      "charge.dispute.created",
      { id: "dp_2", object: "dispute", charge: "ch_2" },
      "ignore",
      undefined,
    ],
  ])("%s %j -> %s", (type, object, action, paymentIntentId) => {
    const plan = planWebhookEvent(event(type, object))
    expect(plan.action).toBe(action)
    expect(plan.paymentIntentId).toBe(paymentIntentId)
    expect(plan.lockName).toBe(paymentIntentId ? `payment_intent:${paymentIntentId}` : undefined)
  })

  it("keeps the resource of a charge that carries the intent's metadata", () => {
    const plan = planWebhookEvent(
      event("charge.refunded", { id: "ch_1", payment_intent: "pi_1", metadata: CART })
    )
    expect(plan.resourceId).toBe("cart_01")
  })
})

describe("planWebhookEvent: other events", () => {
  it.each([
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "charge.succeeded",
    "charge.dispute.closed",
    "customer.created",
    "invoice.paid",
    "",
  ])("ignores %j", (type) => {
    expect(planWebhookEvent(event(type, intent(CART))).action).toBe("ignore")
  })

  it.each([null, undefined, "pi_1", 42, []])(
    "ignores a handled type whose object is %j",
    (object) => {
      expect(planWebhookEvent(event("payment_intent.succeeded", object)).action).toBe("ignore")
    }
  )

  it("ignores an event without data", () => {
    const plan = planWebhookEvent({ id: "evt_1", type: "payment_intent.succeeded" } as never)
    expect(plan.action).toBe("ignore")
  })
})

describe("HANDLED_EVENT_TYPES", () => {
  it("lists exactly the events that map to an action", () => {
    expect([...HANDLED_EVENT_TYPES].sort()).toEqual(
      [
        "charge.captured",
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.refund.updated",
        "charge.refunded",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
      ].sort()
    )
    for (const type of HANDLED_EVENT_TYPES) {
      expect(isHandledEventType(type)).toBe(true)
    }
    expect(isHandledEventType("payment_intent.created")).toBe(false)
  })
})

describe("resources", () => {
  it.each([
    [{ metadata: { resource_id: "cart_1" } }, "cart_1"],
    [{ metadata: { cart_id: "cart_2" } }, "cart_2"],
    [{ metadata: { resource_id: "paycol_1", cart_id: "cart_3" } }, "paycol_1"],
    [{ metadata: { resource_id: 7 } }, undefined],
    [{ metadata: null }, undefined],
    [{}, undefined],
    [null, undefined],
  ])("resourceIdOf(%j) = %j", (object, expected) => {
    expect(resourceIdOf(object)).toBe(expected)
  })

  it.each([
    ["cart_1", "cart"],
    ["paycol_1", "payment_collection"],
    ["order_1", undefined],
    [undefined, undefined],
  ])("resourceKind(%j) = %j", (id, kind) => {
    expect(resourceKind(id)).toBe(kind)
  })

  it("names the cart lock as the store route's middleware does", () => {
    expect(cartLockName("cart_1")).toBe("cart:cart_1")
  })
})

describe("isPluginRefund", () => {
  it.each([
    [{ metadata: { medusa_refund_origin: "medusa" } }, true],
    [{ metadata: { medusa_refund_origin: "dashboard" } }, false],
    [{ metadata: {} }, false],
    [{ metadata: null }, false],
    [{}, false],
  ])("%j -> %s", (refund, expected) => {
    expect(isPluginRefund(refund)).toBe(expected)
  })
})

describe("attempts and backoff", () => {
  it("emits with the Redis event bus's retry options", () => {
    expect(WEBHOOK_JOB_OPTIONS).toEqual({
      attempts: WEBHOOK_MAX_ATTEMPTS,
      backoff: { type: "exponential", delay: 1000 },
    })
  })

  it.each([
    [1, 0, 1],
    [5, 0, 5],
    [6, 5, 1],
    [7, 5, 2],
    [3, 3, 1],
    [0, 0, 1],
  ])("recorded %i with base %i is attempt %i of the delivery", (recorded, base, attempt) => {
    expect(attemptOfDelivery(recorded, base)).toBe(attempt)
  })

  it.each([
    [1, false],
    [4, false],
    [5, true],
    [6, true],
  ])("attempt %i final: %s", (attempt, final) => {
    expect(isFinalAttempt(attempt)).toBe(final)
  })

  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [0, 1000],
  ])("waits after attempt %i: %i ms", (attempt, delay) => {
    expect(backoffDelay(attempt)).toBe(delay)
  })
})

describe("retry rounds after every attempt failed", () => {
  it.each([
    [5, 60_000],
    [10, 120_000],
    [15, 240_000],
    [45, 256 * 60_000],
    [50, 6 * 3_600_000],
    [55, 6 * 3_600_000],
  ])("after %i attempts the next round waits %i ms at a 60 s interval", (attempts, delay) => {
    expect(nextRoundDelay(attempts, 60_000)).toBe(delay)
  })

  it("gives the event up after twelve rounds", () => {
    expect(WEBHOOK_MAX_ROUNDS).toBe(12)
    expect(nextRoundDelay(55, 60_000)).toBeDefined()
    expect(nextRoundDelay(56, 60_000)).toBeUndefined()
    expect(nextRoundDelay(60, 60_000)).toBeUndefined()
  })

  it("spans about a day at the default interval", () => {
    let total = 0
    for (let attempts = 5; nextRoundDelay(attempts, 60_000) !== undefined; attempts += 5) {
      total += nextRoundDelay(attempts, 60_000) ?? 0
    }
    expect(total / 3_600_000).toBeGreaterThan(20)
    expect(total / 3_600_000).toBeLessThan(30)
  })

  it("takes a received or processing event for lost well after the event bus's own retries", () => {
    expect(lostEventAge(60_000)).toBe(300_000)
    expect(lostEventAge(1_000)).toBe(60_000)
  })
})

describe("jobs", () => {
  it("round-trips through JSON as the event bus stores it", () => {
    const job = toWebhookJob(event("payment_intent.succeeded", intent(CART)), 3)
    expect(parseWebhookJob(JSON.parse(JSON.stringify(job)))).toEqual(job)
    expect(job).toMatchObject({ id: "evt_1", base_attempts: 3, created: 1_700_000_000 })
  })

  it.each([null, {}, { id: "x", type: "t", object: {} }, { id: "evt_1", type: "t" }])(
    "refuses %j",
    (data) => {
      expect(() => parseWebhookJob(data)).toThrow(/carries no Stripe event/)
    }
  )
})

describe("isTransientDatabaseError", () => {
  it.each([
    [Object.assign(new Error("x"), { code: "40001" }), true],
    [Object.assign(new Error("x"), { code: "40P01" }), true],
    [new Error("could not serialize access due to concurrent update"), true],
    [new Error("deadlock detected"), true],
    [Object.assign(new Error("duplicate key"), { code: "23505" }), false],
    [new Error("Cart was not found"), false],
    ["could not serialize access", false],
    [null, false],
  ])("%p -> %s", (error, expected) => {
    expect(isTransientDatabaseError(error)).toBe(expected)
  })
})
