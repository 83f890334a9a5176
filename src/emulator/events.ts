import type Stripe from "stripe"
import { clone, str, strings, type Params } from "./params"
import { createdMatcher, paginate, type ListObject } from "./listing"
import type { RequestContext, Store } from "./store"

export const API_VERSION = "2024-04-10"

/** The event shape Stripe sends, independent of the SDK's per-type unions. */
export interface EmulatedEvent {
  id: string
  object: "event"
  account?: string
  api_version: string | null
  created: number
  data: { object: object; previous_attributes?: Record<string, unknown> }
  livemode: false
  pending_webhooks: number
  request: { id: string | null; idempotency_key: string | null }
  type: string
}

export function asStripeEvent(event: EmulatedEvent): Stripe.Event {
  return event as unknown as Stripe.Event
}

/** Records events and passes each one on (to webhook delivery). */
export class EventLog {
  constructor(
    private readonly store: Store,
    private readonly deliver: (event: EmulatedEvent) => number
  ) {}

  emit(
    type: string,
    object: object,
    ctx: RequestContext,
    previous?: Record<string, unknown>
  ): EmulatedEvent {
    const event: EmulatedEvent = {
      id: this.store.id("evt"),
      object: "event",
      api_version: API_VERSION,
      created: this.store.now(),
      data: snapshot(object, previous),
      livemode: false,
      pending_webhooks: 0,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    }
    this.store.events.set(event.id, asStripeEvent(event))
    event.pending_webhooks = this.deliver(event)
    return event
  }

  get(id: string): EmulatedEvent | undefined {
    return this.store.events.get(id) as unknown as EmulatedEvent | undefined
  }

  all(): EmulatedEvent[] {
    return [...this.store.events.values()] as unknown as EmulatedEvent[]
  }

  list(params: Params): ListObject<EmulatedEvent> {
    const type = str(params, "type")
    const types = strings(params, "types")
    const created = createdMatcher(params)
    const matchesType = (eventType: string): boolean => {
      if (types && types.length > 0) return types.some((t) => typeMatches(t, eventType))
      return type === undefined || typeMatches(type, eventType)
    }
    const items = this.all().filter((event) => matchesType(event.type) && created(event.created))
    return paginate(items, params, "/v1/events")
  }
}

/**
 * `data` of an event: the object as it is now. Serialized at once, parsed only when read
 * (most events are never read back).
 */
function snapshot(object: object, previous?: Record<string, unknown>): EmulatedEvent["data"] {
  const json = JSON.stringify(object)
  let parsed: object | undefined
  const data = {} as EmulatedEvent["data"]
  Object.defineProperty(data, "object", {
    enumerable: true,
    get: () => (parsed ??= JSON.parse(json) as object),
  })
  if (previous) data.previous_attributes = clone(previous)
  return data
}

/** `payment_intent.*` matches every PaymentIntent event; `*` matches all. */
export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === "*" || pattern === type) return true
  return pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1))
}
