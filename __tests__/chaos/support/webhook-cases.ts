import { createHmac } from "crypto"
import { seededRng, type Rng } from "./random"

/** The largest body the plugin's webhook route reads (the route answers 413 above it). */
export const WEBHOOK_BODY_LIMIT = 512 * 1024

export interface PaidOrderTarget {
  cartId: string
  intentId: string
  amount: number
  currency: string
}

export interface OpenCartTarget {
  cartId: string
  intentId: string
}

/** What the generator builds hostile requests from. */
export interface WebhookTargets {
  secret: string
  toleranceSeconds: number
  /** Orders paid by Stripe intents (authorized). */
  orders: PaidOrderTarget[]
  /** Carts with a Stripe session that nobody paid. */
  openCarts: OpenCartTarget[]
  /** Real events the backend already processed: JSON exactly as Stripe would send it. */
  processedEvents: { id: string; payload: string }[]
}

export type Expectation = 200 | 400 | 413 | "closed or 400"

export interface WebhookCase {
  n: number
  kind: string
  body: Buffer
  headers: Record<string, string>
  expect: Expectation
  /** For requests whose body declares more bytes than it sends, then closes. */
  truncatedTransfer?: { declaredLength: number }
  /** The event id in the body, when there is one. */
  eventId?: string
  /** The event id must be recorded (accepted) or must not be (refused). */
  recorded?: boolean
  /** Size class for the latency series: large bodies and raw transfers are kept apart. */
  sizeClass: "normal" | "large"
}

export function signatureHeader(
  payload: Buffer | string,
  secret: string,
  timestamp: number
): string {
  const signature = createHmac("sha256", secret)
    .update(`${timestamp}.`)
    .update(payload)
    .digest("hex")
  return `t=${timestamp},v1=${signature}`
}

const UNKNOWN_TYPES = [
  "customer.created",
  "customer.subscription.updated",
  "invoice.paid",
  "checkout.session.completed",
  "payout.paid",
  "account.updated",
  "setup_intent.succeeded",
  "payment_method.attached",
  "charge.succeeded",
  "charge.captured",
  "payment_intent.created",
  "payment_intent.requires_action",
  "payment_intent.processing",
  "radar.early_fraud_warning.created",
  "x.y.z",
  "",
]

const HANDLED_INTENT_TYPES = [
  "payment_intent.succeeded",
  "payment_intent.amount_capturable_updated",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
]

const NOT_JSON = [
  "{",
  "}",
  "{not json",
  "<xml><event/></xml>",
  "id=evt_1&type=payment_intent.succeeded",
  "\u0000\u0001\u0002",
  "[1, 2",
  '{"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}',
  "NaN",
  "undefined",
  "''",
]

const NOT_EVENTS = [
  "null",
  "[]",
  "42",
  '"evt_123"',
  "true",
  "{}",
  '{"id": 5, "type": "payment_intent.succeeded", "data": {"object": {}}}',
  '{"id": "evt_x", "data": {"object": {}}}',
  '{"id": "evt_x", "type": "payment_intent.succeeded"}',
  '{"id": "evt_x", "type": "payment_intent.succeeded", "data": null}',
  '{"id": "evt_x", "type": ["payment_intent.succeeded"], "data": {"object": {}}}',
]

interface Weighted {
  kind: string
  weight: number
  /** At most this many cases of the kind (expensive or very large ones). */
  cap?: number
  build(n: number): Omit<WebhookCase, "n" | "kind">
}

/**
 * Hostile requests against `POST /stripe/hooks`, generated from a seed: missing, malformed,
 * forged, replayed and expired signatures, the wrong secret, bodies changed after signing,
 * truncated, oversized or not JSON, and correctly signed events that must change nothing:
 * unknown types, intents of other carts or of nobody, replays of processed events, and events
 * whose amount differs from the order.
 */
export function generateWebhookCases(
  targets: WebhookTargets,
  count: number,
  seed: number
): WebhookCase[] {
  const rng: Rng = seededRng(seed)
  const now = () => Math.floor(Date.now() / 1000)
  const json = (value: unknown) => Buffer.from(JSON.stringify(value))
  const headers = (signature?: string, contentType = "application/json; charset=utf-8") => ({
    ...(contentType ? { "content-type": contentType } : {}),
    ...(signature !== undefined ? { "stripe-signature": signature } : {}),
  })
  const sign = (body: Buffer, secret = targets.secret, timestamp = now()) =>
    signatureHeader(body, secret, timestamp)
  const eventId = (n: number) => `evt_chaos${seed.toString(36)}${n.toString(36)}${rng.alnum(6)}`
  const order = () => rng.pick(targets.orders)
  const otherOrder = (not: PaidOrderTarget) =>
    targets.orders.length > 1 ? rng.pick(targets.orders.filter((o) => o !== not)) : not

  const event = (n: number, type: string, object: Record<string, unknown>) => {
    const id = eventId(n)
    return {
      id,
      body: json({
        id,
        object: "event",
        api_version: "2024-04-10",
        created: now(),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        data: { object },
      }),
    }
  }
  const intentObject = (
    id: string,
    cartId: string | undefined,
    amount: number,
    status: string,
    extra: Record<string, unknown> = {}
  ) => ({
    id,
    object: "payment_intent",
    amount,
    amount_capturable: status === "requires_capture" ? amount : 0,
    amount_received: status === "succeeded" ? amount : 0,
    currency: "eur",
    capture_method: "manual",
    status,
    metadata: cartId ? { resource_id: cartId, cart_id: cartId } : {},
    ...extra,
  })
  /** A plausible event for an order's intent, for cases that break it afterwards. */
  const plausible = (n: number) => {
    const target = order()
    return event(
      n,
      "payment_intent.succeeded",
      intentObject(target.intentId, target.cartId, target.amount, "succeeded")
    )
  }
  const refused = (
    body: Buffer,
    signature: string | undefined,
    id: string | undefined,
    expect: 400 | 413 = 400
  ): Omit<WebhookCase, "n" | "kind"> => ({
    body,
    headers: headers(signature),
    expect,
    eventId: id,
    recorded: id ? false : undefined,
    sizeClass: body.length > 64 * 1024 ? "large" : "normal",
  })
  const accepted = (
    body: Buffer,
    id: string,
    contentType?: string
  ): Omit<WebhookCase, "n" | "kind"> => ({
    body,
    headers: headers(sign(body), contentType),
    expect: 200,
    eventId: id,
    recorded: true,
    sizeClass: body.length > 64 * 1024 ? "large" : "normal",
  })
  const malformed = (body: Buffer): string => {
    const t = now()
    const good = sign(body).split(",")[1].slice(3)
    return rng.pick([
      `t=notatime,v1=${good}`,
      `v1=${good}`,
      `t=${t}`,
      `t=${t},v0=${good}`,
      `t=${t},v1=${good.toUpperCase()}`,
      `t=${t},v1=`,
      `t=${t},v1=${good.slice(0, 32)}`,
      `t=${t},v1=${"0".repeat(64)}`,
      `t=${t};v1=${good}`,
      `${"x".repeat(rng.int(100, 4000))}`,
      `t=,v1=${good}`,
      `t=${t},v1=${good}0`,
    ])
  }

  const kinds: Weighted[] = [
    {
      kind: "no signature header",
      weight: 6,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, undefined, e.id)
      },
    },
    {
      kind: "empty signature",
      weight: 3,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, "", e.id)
      },
    },
    {
      kind: "garbage signature",
      weight: 5,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, rng.alnum(rng.int(1, 200)), e.id)
      },
    },
    {
      kind: "malformed signature header",
      weight: 8,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, malformed(e.body), e.id)
      },
    },
    {
      kind: "wrong secret",
      weight: 8,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, sign(e.body, `whsec_${rng.alnum(32)}`), e.id)
      },
    },
    {
      kind: "forged signature",
      weight: 6,
      build: (n) => {
        const e = plausible(n)
        return refused(e.body, `t=${now()},v1=${rng.hex(64)}`, e.id)
      },
    },
    {
      kind: "expired signature",
      weight: 8,
      build: (n) => {
        const e = plausible(n)
        const age = targets.toleranceSeconds + rng.int(5, 30 * 86_400)
        return refused(e.body, sign(e.body, targets.secret, now() - age), e.id)
      },
    },
    {
      kind: "replayed signature of another body",
      weight: 7,
      build: (n) => {
        const e = plausible(n)
        const other = plausible(n + count)
        return refused(e.body, sign(other.body), e.id)
      },
    },
    {
      kind: "body changed after signing",
      weight: 7,
      build: (n) => {
        const target = order()
        const e = event(
          n,
          "payment_intent.succeeded",
          intentObject(target.intentId, target.cartId, target.amount, "succeeded")
        )
        const signature = sign(e.body)
        const text = e.body.toString()
        const changed = rng.pick([
          text.replace(
            `"amount":${target.amount}`,
            `"amount":${target.amount + rng.int(1, 10_000)}`
          ),
          text.replace(target.cartId, otherOrder(target).cartId),
          `${text} `,
          text.replace('"succeeded"', '"requires_capture"'),
          text.replace(/"id":"evt_[^"]+"/, `"id":"evt_${rng.alnum(12)}"`),
        ])
        return refused(Buffer.from(changed === text ? `${text}\n` : changed), signature, e.id)
      },
    },
    {
      kind: "truncated body",
      weight: 6,
      build: (n) => {
        const e = plausible(n)
        const cut = rng.int(0, e.body.length - 1)
        return refused(e.body.subarray(0, cut), sign(e.body), e.id)
      },
    },
    {
      kind: "signed truncated JSON",
      weight: 4,
      build: (n) => {
        const e = plausible(n)
        const body = e.body.subarray(0, rng.int(1, e.body.length - 2))
        return refused(body, sign(body), undefined)
      },
    },
    {
      kind: "signed invalid JSON",
      weight: 5,
      build: () => {
        const body = Buffer.from(rng.pick(NOT_JSON))
        return refused(body, sign(body), undefined)
      },
    },
    {
      kind: "signed JSON that is not an event",
      weight: 5,
      build: () => {
        const body = Buffer.from(rng.pick(NOT_EVENTS))
        return refused(body, sign(body), undefined)
      },
    },
    {
      kind: "empty body",
      weight: 1,
      build: () => {
        const body = Buffer.alloc(0)
        return refused(body, rng() < 0.5 ? sign(body) : undefined, undefined)
      },
    },
    {
      kind: "huge body",
      weight: 1,
      cap: 40,
      build: (n) => {
        const size = WEBHOOK_BODY_LIMIT + rng.int(1, 2 * 1024 * 1024)
        const e = event(n, "customer.created", { id: "cus_x", padding: "x".repeat(size) })
        return refused(e.body, rng() < 0.5 ? sign(e.body) : undefined, e.id, 413)
      },
    },
    {
      kind: "large body under the limit",
      weight: 1,
      cap: 20,
      build: (n) => {
        const e = event(n, "customer.created", {
          id: "cus_x",
          padding: "y".repeat(WEBHOOK_BODY_LIMIT - 4096 - rng.int(0, 200_000)),
        })
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "truncated transfer",
      weight: 1,
      cap: 12,
      build: (n) => {
        const e = plausible(n)
        const sent = e.body.subarray(0, rng.int(0, e.body.length - 1))
        return {
          body: sent,
          headers: headers(sign(e.body)),
          expect: "closed or 400",
          truncatedTransfer: { declaredLength: e.body.length },
          eventId: e.id,
          recorded: false,
          sizeClass: "large",
        }
      },
    },
    {
      kind: "unknown event type",
      weight: 8,
      build: (n) => {
        const e = event(n, rng.pick(UNKNOWN_TYPES), {
          id: `obj_${rng.alnum(14)}`,
          object: "unknown",
          metadata: { cart_id: order().cartId },
        })
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "signed with an unusual content type",
      weight: 2,
      build: (n) => {
        const e = event(n, rng.pick(UNKNOWN_TYPES), { id: `obj_${rng.alnum(14)}` })
        return accepted(
          e.body,
          e.id,
          rng.pick([
            "text/plain",
            "",
            "application/x-www-form-urlencoded",
            "application/octet-stream",
          ])
        )
      },
    },
    {
      kind: "intent not created by the plugin",
      weight: 3,
      build: (n) => {
        const e = event(
          n,
          rng.pick(HANDLED_INTENT_TYPES),
          intentObject(`pi_${rng.alnum(24)}`, undefined, rng.int(50, 100_000), "succeeded")
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "replay of a processed event",
      weight: targets.processedEvents.length > 0 ? 4 : 0,
      build: () => {
        const real = rng.pick(targets.processedEvents)
        const body = Buffer.from(real.payload)
        return {
          body,
          headers: headers(sign(body)),
          expect: 200,
          eventId: real.id,
          recorded: true,
          sizeClass: "normal",
        }
      },
    },
    {
      kind: "intent of another cart's order",
      weight: 4,
      build: (n) => {
        const paid = order()
        const other = otherOrder(paid)
        const type = rng.pick([
          "payment_intent.succeeded",
          "payment_intent.amount_capturable_updated",
        ])
        const e = event(
          n,
          type,
          intentObject(
            paid.intentId,
            other.cartId,
            other.amount,
            type === "payment_intent.succeeded" ? "succeeded" : "requires_capture"
          )
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "amount differs from the order",
      weight: 4,
      build: (n) => {
        const paid = order()
        const type = rng.pick([
          "payment_intent.succeeded",
          "payment_intent.amount_capturable_updated",
        ])
        const amount = Math.max(50, paid.amount + rng.pick([-1, 1]) * rng.int(1, paid.amount))
        const e = event(
          n,
          type,
          intentObject(
            paid.intentId,
            paid.cartId,
            amount,
            type === "payment_intent.succeeded" ? "succeeded" : "requires_capture"
          )
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "failure or cancellation of a paid order's intent",
      weight: 2,
      build: (n) => {
        const paid = order()
        const type = rng.pick(["payment_intent.payment_failed", "payment_intent.canceled"])
        const e = event(
          n,
          type,
          intentObject(
            paid.intentId,
            paid.cartId,
            paid.amount,
            type === "payment_intent.canceled" ? "canceled" : "requires_payment_method",
            type === "payment_intent.payment_failed"
              ? {
                  last_payment_error: { code: "card_declined", message: "Your card was declined." },
                }
              : {}
          )
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "paid intent naming an unpaid cart",
      weight: targets.openCarts.length > 0 ? 1 : 0,
      cap: Math.max(2, Math.round(count * 0.002)),
      build: (n) => {
        const paid = order()
        const open = rng.pick(targets.openCarts)
        const e = event(
          n,
          "payment_intent.succeeded",
          intentObject(paid.intentId, open.cartId, paid.amount, "succeeded")
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "intent of a cart that does not exist",
      weight: 1,
      cap: Math.max(2, Math.round(count * 0.003)),
      build: (n) => {
        const cartId = `cart_01CHAOS${rng.alnum(18).toUpperCase()}`
        const e = event(
          n,
          rng.pick(["payment_intent.succeeded", "payment_intent.amount_capturable_updated"]),
          intentObject(`pi_${rng.alnum(24)}`, cartId, rng.int(50, 100_000), "succeeded")
        )
        return accepted(e.body, e.id)
      },
    },
    {
      kind: "refund or dispute of an intent without order",
      weight: targets.openCarts.length > 0 ? 1 : 0,
      cap: Math.max(2, Math.round(count * 0.002)),
      build: (n) => {
        const open = rng.pick(targets.openCarts)
        const refund = rng() < 0.5
        const e = event(
          n,
          refund ? "charge.refunded" : "charge.dispute.created",
          refund
            ? {
                id: `ch_${rng.alnum(24)}`,
                object: "charge",
                amount: 3300,
                amount_refunded: 3300,
                currency: "eur",
                payment_intent: open.intentId,
                metadata: { resource_id: open.cartId, cart_id: open.cartId },
                refunds: {
                  object: "list",
                  has_more: false,
                  data: [
                    {
                      id: `re_${rng.alnum(24)}`,
                      object: "refund",
                      amount: 3300,
                      currency: "eur",
                      status: "succeeded",
                      metadata: {},
                    },
                  ],
                },
              }
            : {
                id: `dp_${rng.alnum(24)}`,
                object: "dispute",
                amount: 3300,
                currency: "eur",
                charge: `ch_${rng.alnum(24)}`,
                payment_intent: open.intentId,
                reason: "fraudulent",
                status: "needs_response",
              }
        )
        return accepted(e.body, e.id)
      },
    },
  ]

  const used = new Map<string, number>()
  const cases: WebhookCase[] = []
  for (let n = 0; n < count; n += 1) {
    const open = kinds.filter(
      (k) => k.weight > 0 && (k.cap === undefined || (used.get(k.kind) ?? 0) < k.cap)
    )
    const total = open.reduce((sum, k) => sum + k.weight, 0)
    let roll = rng() * total
    let chosen = open[open.length - 1]
    for (const k of open) {
      roll -= k.weight
      if (roll < 0) {
        chosen = k
        break
      }
    }
    used.set(chosen.kind, (used.get(chosen.kind) ?? 0) + 1)
    cases.push({ n, kind: chosen.kind, ...chosen.build(n) })
  }
  return cases
}
