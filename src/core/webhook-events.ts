import { METADATA_KEYS, REFUND_ORIGIN_PLUGIN } from "../constants"

/** The route Stripe posts events to (the path the official Medusa Stripe plugin uses). */
export const WEBHOOK_PATH = "/stripe/hooks"

/** Largest webhook body the route reads; Stripe's events are a few kilobytes. */
export const WEBHOOK_BODY_LIMIT = 512 * 1024

/** The event the route emits on Medusa's event bus, and the subscriber listens to. */
export const WEBHOOK_RECEIVED_EVENT = "stripe.webhook_received"

/** How often a failing event is tried before it is left as `failed`. */
export const WEBHOOK_MAX_ATTEMPTS = 5

/** First retry delay; it doubles on every further attempt. */
export const WEBHOOK_BACKOFF_MS = 1000

/**
 * Rounds of {@link WEBHOOK_MAX_ATTEMPTS} attempts an event gets before it is given up: the
 * first on delivery, the others handed back by the retry sweep.
 */
export const WEBHOOK_MAX_ROUNDS = 12

/** Attempts recorded on an event that is given up (its rounds used, or unknown to Stripe). */
export const WEBHOOK_GIVEN_UP_ATTEMPTS = WEBHOOK_MAX_ROUNDS * WEBHOOK_MAX_ATTEMPTS

/** A failed event gets another round while its recorded attempts are at most this. */
export const WEBHOOK_LAST_ROUND_ATTEMPTS = WEBHOOK_GIVEN_UP_ATTEMPTS - WEBHOOK_MAX_ATTEMPTS

/** The longest wait between two rounds. */
export const WEBHOOK_MAX_ROUND_DELAY_MS = 6 * 60 * 60 * 1000

/** Options of every emitted event, honoured by `@medusajs/event-bus-redis`. */
export const WEBHOOK_JOB_OPTIONS = {
  attempts: WEBHOOK_MAX_ATTEMPTS,
  backoff: { type: "exponential", delay: WEBHOOK_BACKOFF_MS },
} as const

/** Rows of `stripe_webhook_event` move through these states. */
export const WEBHOOK_EVENT_STATUSES = [
  "received",
  "processing",
  "processed",
  "failed",
  "ignored",
] as const

export type WebhookEventStatus = (typeof WEBHOOK_EVENT_STATUSES)[number]

export type WebhookAction =
  | "complete_cart"
  | "authorize_collection"
  | "record_failure"
  | "record_cancel"
  | "reconcile"
  | "ignore"

/** Event types the plugin acts on: the events to select on the Stripe webhook endpoint. */
export const HANDLED_EVENT_TYPES = [
  "payment_intent.amount_capturable_updated",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "charge.captured",
  "charge.refunded",
  "charge.refund.updated",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
  "charge.dispute.funds_withdrawn",
  "charge.dispute.funds_reinstated",
] as const

export type HandledEventType = (typeof HANDLED_EVENT_TYPES)[number]

/** The fields of a Stripe event the plugin reads. */
export interface WebhookEventLike {
  id: string
  type: string
  created?: number
  livemode?: boolean
  data: { object: unknown }
}

/** What to do with an event, derived from the event alone. */
export interface WebhookPlan {
  action: WebhookAction
  /** The Medusa resource the payment belongs to: `cart_...` or `paycol_...`. */
  resourceId?: string
  paymentIntentId?: string
  /**
   * Name of the lock every attempt of this event holds while it works; events touching the
   * same cart (and the shopper's own completion request) are serialised on it.
   */
  lockName?: string
  /** Why an event is ignored. */
  reason?: string
}

/** What the route hands to the event bus: enough to process the event without Stripe. */
export interface WebhookJob {
  id: string
  type: string
  created: number
  livemode: boolean
  /** Attempts already recorded for this event when this delivery was handed over. */
  base_attempts: number
  object: Record<string, unknown>
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/** An expandable Stripe field: the id, or the id of the expanded object. */
function expandableId(value: unknown): string | undefined {
  if (typeof value === "string" && value.length > 0) {
    return value
  }
  if (isRecord(value)) {
    return stringField(value, "id")
  }
  return undefined
}

export function isHandledEventType(type: string): type is HandledEventType {
  return (HANDLED_EVENT_TYPES as readonly string[]).includes(type)
}

/** The Medusa resource recorded on a PaymentIntent's metadata by the processors. */
export function resourceIdOf(object: unknown): string | undefined {
  if (!isRecord(object) || !isRecord(object.metadata)) {
    return undefined
  }
  return (
    stringField(object.metadata, METADATA_KEYS.resourceId) ??
    stringField(object.metadata, METADATA_KEYS.cartId)
  )
}

export type ResourceKind = "cart" | "payment_collection"

export function resourceKind(resourceId: string | undefined): ResourceKind | undefined {
  if (resourceId?.startsWith("cart_")) return "cart"
  if (resourceId?.startsWith("paycol_")) return "payment_collection"
  return undefined
}

export function cartLockName(cartId: string): string {
  return `cart:${cartId}`
}

export function paymentCollectionLockName(paymentCollectionId: string): string {
  return `paycol:${paymentCollectionId}`
}

function resourceLockName(resourceId: string): string {
  return resourceKind(resourceId) === "cart"
    ? cartLockName(resourceId)
    : paymentCollectionLockName(resourceId)
}

const ignore = (reason: string, extra: Partial<WebhookPlan> = {}): WebhookPlan => ({
  action: "ignore",
  reason,
  ...extra,
})

function planIntentEvent(type: HandledEventType, intent: Record<string, unknown>): WebhookPlan {
  const paymentIntentId = stringField(intent, "id")
  if (!paymentIntentId) {
    return ignore("the event carries no PaymentIntent id")
  }
  const resourceId = resourceIdOf(intent)
  const kind = resourceKind(resourceId)
  if (!resourceId || !kind) {
    return ignore(
      resourceId
        ? `PaymentIntent ${paymentIntentId} belongs to ${resourceId}, neither a cart nor a payment collection`
        : `PaymentIntent ${paymentIntentId} was not created by this plugin (no ${METADATA_KEYS.resourceId} metadata)`,
      { paymentIntentId }
    )
  }
  const base = { resourceId, paymentIntentId, lockName: resourceLockName(resourceId) }
  switch (type) {
    case "payment_intent.amount_capturable_updated":
    case "payment_intent.succeeded":
      return {
        action: kind === "cart" ? "complete_cart" : "authorize_collection",
        ...base,
      }
    case "payment_intent.payment_failed":
      return { action: "record_failure", ...base }
    case "payment_intent.canceled":
      return { action: "record_cancel", ...base }
    default:
      return ignore(`${type} is not a PaymentIntent event`)
  }
}

/**
 * Events about a charge, refund or dispute only say which intent to reconcile: the reconciler
 * reads the truth from Stripe. Held under the intent's own lock.
 */
function planChargeEvent(object: Record<string, unknown>): WebhookPlan {
  const paymentIntentId = expandableId(object.payment_intent)
  if (!paymentIntentId) {
    return ignore(`${stringField(object, "id") ?? "the object"} belongs to no PaymentIntent`)
  }
  const resourceId = resourceIdOf(object)
  return {
    action: "reconcile",
    paymentIntentId,
    ...(resourceId ? { resourceId } : {}),
    lockName: paymentIntentLockName(paymentIntentId),
  }
}

export function paymentIntentLockName(paymentIntentId: string): string {
  return `payment_intent:${paymentIntentId}`
}

/** Maps a Stripe event to what the plugin does with it. Pure: reads nothing but the event. */
export function planWebhookEvent(event: WebhookEventLike): WebhookPlan {
  if (!isHandledEventType(event.type)) {
    return ignore(`${event.type} is not an event this plugin handles`)
  }
  const object = isRecord(event.data) ? event.data.object : undefined
  if (!isRecord(object)) {
    return ignore("the event carries no object")
  }
  switch (event.type) {
    case "payment_intent.amount_capturable_updated":
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
    case "payment_intent.canceled":
      return object.object === undefined || object.object === "payment_intent"
        ? planIntentEvent(event.type, object)
        : ignore(`${event.type} carries a ${String(object.object)}, not a payment_intent`)
    case "charge.captured":
    case "charge.refunded":
    case "charge.refund.updated":
    case "charge.dispute.created":
    case "charge.dispute.updated":
    case "charge.dispute.closed":
    case "charge.dispute.funds_withdrawn":
    case "charge.dispute.funds_reinstated":
      return planChargeEvent(object)
  }
}

/** Refunds the plugin made itself carry this marker; the webhook never records them again. */
export function isPluginRefund(refund: { metadata?: unknown }): boolean {
  return (
    isRecord(refund.metadata) &&
    refund.metadata[METADATA_KEYS.refundOrigin] === REFUND_ORIGIN_PLUGIN
  )
}

/** Which attempt of the current delivery a handler run is, counted from the recorded total. */
export function attemptOfDelivery(recordedAttempts: number, baseAttempts: number): number {
  return Math.max(1, recordedAttempts - Math.max(0, baseAttempts))
}

export function isFinalAttempt(attempt: number, maxAttempts = WEBHOOK_MAX_ATTEMPTS): boolean {
  return attempt >= maxAttempts
}

/** Delay before the attempt after `attempt`: 1 s, 2 s, 4 s, 8 s (as the Redis event bus waits). */
export function backoffDelay(attempt: number, baseMs = WEBHOOK_BACKOFF_MS): number {
  return baseMs * 2 ** Math.max(0, attempt - 1)
}

/**
 * How long a `failed` event (every attempt of its latest round failed) waits before the next
 * round: the sweep interval after the first round, doubling up to six hours, so that twelve
 * rounds span about a day at the default interval. Undefined once the event is given up.
 */
export function nextRoundDelay(attempts: number, intervalMs: number): number | undefined {
  if (attempts > WEBHOOK_LAST_ROUND_ATTEMPTS) {
    return undefined
  }
  const round = Math.max(1, Math.ceil(attempts / WEBHOOK_MAX_ATTEMPTS))
  return Math.min(intervalMs * 2 ** (round - 1), WEBHOOK_MAX_ROUND_DELAY_MS)
}

/**
 * How long an event may stay `received` or `processing` before the sweep takes it for lost (a
 * process died holding it, or the event bus kept it in memory only): well past the event bus's
 * own retries (1 + 2 + 4 + 8 s) and any completion.
 */
export function lostEventAge(intervalMs: number): number {
  return Math.max(5 * intervalMs, 60_000)
}

/** The job emitted for an event; the object is passed on as Stripe sent it. */
export function toWebhookJob(event: WebhookEventLike, baseAttempts: number): WebhookJob {
  const object = isRecord(event.data) && isRecord(event.data.object) ? event.data.object : {}
  return {
    id: event.id,
    type: event.type,
    created: typeof event.created === "number" ? event.created : 0,
    livemode: event.livemode === true,
    base_attempts: baseAttempts,
    object,
  }
}

/** Reads a job back from the event bus, which may have serialised it. */
export function parseWebhookJob(data: unknown): WebhookJob {
  if (
    !isRecord(data) ||
    typeof data.id !== "string" ||
    !data.id.startsWith("evt_") ||
    typeof data.type !== "string" ||
    !isRecord(data.object)
  ) {
    throw new Error(`${WEBHOOK_RECEIVED_EVENT} carries no Stripe event: ${JSON.stringify(data)}`)
  }
  return {
    id: data.id,
    type: data.type,
    created: typeof data.created === "number" ? data.created : 0,
    livemode: data.livemode === true,
    base_attempts: typeof data.base_attempts === "number" ? data.base_attempts : 0,
    object: data.object,
  }
}

/** Postgres errors a retry may get past: serialization failures and deadlocks. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!isRecord(error) && !(error instanceof Error)) {
    return false
  }
  const record = error as unknown as Record<string, unknown>
  const code = record.code
  if (code === "40001" || code === "40P01") {
    return true
  }
  const message = typeof record.message === "string" ? record.message : ""
  return /could not serialize access|deadlock detected/i.test(message)
}
