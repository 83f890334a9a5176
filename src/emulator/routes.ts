import type { Charges } from "./charges"
import type { Customers, PaymentMethods } from "./customers"
import { resourceMissing } from "./errors"
import type { EventLog } from "./events"
import { expand } from "./listing"
import { strings, str, type Params } from "./params"
import type { PaymentIntents } from "./payment-intents"
import type { Disputes, Refunds } from "./refunds"
import type { HttpMethod } from "./schema"
import type { SetupIntents } from "./setup-intents"
import type { RequestContext, Store } from "./store"
import type { Webhooks } from "./webhooks"

/** The domain services behind the API routes. */
export interface Services {
  store: Store
  customers: Customers
  paymentMethods: PaymentMethods
  paymentIntents: PaymentIntents
  charges: Charges
  refunds: Refunds
  disputes: Disputes
  setupIntents: SetupIntents
  events: EventLog
  webhooks: Webhooks
}

export interface ApiCall {
  params: Params
  /** Path parameters in order (`:id` first). */
  ids: string[]
  ctx: RequestContext
}

export interface Route {
  method: HttpMethod
  /** `/v1/payment_intents/:id/confirm` */
  template: string
  /** The operation's path in the OpenAPI document. */
  specPath: string
  /** `POST /v1/payment_intents/:id/confirm`: used by counters, logs and fault matchers. */
  label: string
  segments: string[]
  literals: number
  run(call: ApiCall): unknown
}

type Handler = (call: ApiCall, services: Services) => unknown

const withoutTotalCount = (params: Params): Params => {
  const paths = strings(params, "expand")
  return paths ? { ...params, expand: paths.filter((path) => path !== "total_count") } : params
}

/** [method, template, spec path, handler] for every endpoint the emulator serves. */
const TABLE: [HttpMethod, string, string, Handler][] = [
  // PaymentIntents
  [
    "POST",
    "/v1/payment_intents",
    "/v1/payment_intents",
    (c, s) => s.paymentIntents.create(c.params, c.ctx),
  ],
  ["GET", "/v1/payment_intents", "/v1/payment_intents", (c, s) => s.paymentIntents.list(c.params)],
  [
    "GET",
    "/v1/payment_intents/search",
    "/v1/payment_intents/search",
    (c, s) => s.paymentIntents.search(c.params),
  ],
  [
    "GET",
    "/v1/payment_intents/:id",
    "/v1/payment_intents/{intent}",
    (c, s) => s.paymentIntents.require(c.ids[0]),
  ],
  [
    "POST",
    "/v1/payment_intents/:id",
    "/v1/payment_intents/{intent}",
    (c, s) => s.paymentIntents.update(c.ids[0], c.params),
  ],
  [
    "POST",
    "/v1/payment_intents/:id/confirm",
    "/v1/payment_intents/{intent}/confirm",
    (c, s) => s.paymentIntents.confirm(c.ids[0], c.params, c.ctx),
  ],
  [
    "POST",
    "/v1/payment_intents/:id/capture",
    "/v1/payment_intents/{intent}/capture",
    (c, s) => s.paymentIntents.capture(c.ids[0], c.params, c.ctx),
  ],
  [
    "POST",
    "/v1/payment_intents/:id/cancel",
    "/v1/payment_intents/{intent}/cancel",
    (c, s) => s.paymentIntents.cancel(c.ids[0], c.params, c.ctx),
  ],
  // Customers
  ["POST", "/v1/customers", "/v1/customers", (c, s) => s.customers.create(c.params, c.ctx)],
  ["GET", "/v1/customers", "/v1/customers", (c, s) => s.customers.list(c.params)],
  ["GET", "/v1/customers/search", "/v1/customers/search", (c, s) => s.customers.search(c.params)],
  [
    "GET",
    "/v1/customers/:id",
    "/v1/customers/{customer}",
    (c, s) => s.customers.retrieve(c.ids[0]),
  ],
  [
    "POST",
    "/v1/customers/:id",
    "/v1/customers/{customer}",
    (c, s) => s.customers.update(c.ids[0], c.params, c.ctx),
  ],
  [
    "DELETE",
    "/v1/customers/:id",
    "/v1/customers/{customer}",
    (c, s) => s.customers.delete(c.ids[0], c.ctx),
  ],
  [
    "GET",
    "/v1/customers/:id/payment_methods",
    "/v1/customers/{customer}/payment_methods",
    (c, s) => {
      s.customers.require(c.ids[0])
      return s.paymentMethods.list(c.params, c.ids[0], `/v1/customers/${c.ids[0]}/payment_methods`)
    },
  ],
  [
    "GET",
    "/v1/customers/:id/payment_methods/:payment_method",
    "/v1/customers/{customer}/payment_methods/{payment_method}",
    (c, s) => {
      s.customers.require(c.ids[0])
      const method = s.store.paymentMethods.get(c.ids[1])
      if (!method || method.customer !== c.ids[0]) throw resourceMissing("payment_method", c.ids[1])
      return method
    },
  ],
  // PaymentMethods
  [
    "POST",
    "/v1/payment_methods",
    "/v1/payment_methods",
    (c, s) => s.paymentMethods.create(c.params),
  ],
  ["GET", "/v1/payment_methods", "/v1/payment_methods", (c, s) => s.paymentMethods.list(c.params)],
  [
    "GET",
    "/v1/payment_methods/:id",
    "/v1/payment_methods/{payment_method}",
    (c, s) => s.paymentMethods.retrieve(c.ids[0]),
  ],
  [
    "POST",
    "/v1/payment_methods/:id",
    "/v1/payment_methods/{payment_method}",
    (c, s) => s.paymentMethods.update(c.ids[0], c.params, c.ctx),
  ],
  [
    "POST",
    "/v1/payment_methods/:id/attach",
    "/v1/payment_methods/{payment_method}/attach",
    (c, s) => s.paymentMethods.attach(c.ids[0], str(c.params, "customer") ?? "", c.ctx),
  ],
  [
    "POST",
    "/v1/payment_methods/:id/detach",
    "/v1/payment_methods/{payment_method}/detach",
    (c, s) => s.paymentMethods.detach(c.ids[0], c.ctx),
  ],
  // Charges
  ["GET", "/v1/charges", "/v1/charges", (c, s) => s.charges.list(c.params)],
  ["GET", "/v1/charges/search", "/v1/charges/search", (c, s) => s.charges.search(c.params)],
  ["GET", "/v1/charges/:id", "/v1/charges/{charge}", (c, s) => s.charges.require(c.ids[0])],
  [
    "GET",
    "/v1/charges/:id/refunds",
    "/v1/charges/{charge}/refunds",
    (c, s) => {
      s.charges.require(c.ids[0])
      return s.refunds.list(c.params, c.ids[0])
    },
  ],
  // Refunds
  ["POST", "/v1/refunds", "/v1/refunds", (c, s) => s.refunds.create(c.params, c.ctx)],
  ["GET", "/v1/refunds", "/v1/refunds", (c, s) => s.refunds.list(c.params)],
  ["GET", "/v1/refunds/:id", "/v1/refunds/{refund}", (c, s) => s.refunds.retrieve(c.ids[0])],
  [
    "POST",
    "/v1/refunds/:id",
    "/v1/refunds/{refund}",
    (c, s) => s.refunds.update(c.ids[0], c.params, c.ctx),
  ],
  // SetupIntents
  [
    "POST",
    "/v1/setup_intents",
    "/v1/setup_intents",
    (c, s) => s.setupIntents.create(c.params, c.ctx),
  ],
  ["GET", "/v1/setup_intents", "/v1/setup_intents", (c, s) => s.setupIntents.list(c.params)],
  [
    "GET",
    "/v1/setup_intents/:id",
    "/v1/setup_intents/{intent}",
    (c, s) => s.setupIntents.require(c.ids[0]),
  ],
  [
    "POST",
    "/v1/setup_intents/:id",
    "/v1/setup_intents/{intent}",
    (c, s) => s.setupIntents.update(c.ids[0], c.params),
  ],
  [
    "POST",
    "/v1/setup_intents/:id/confirm",
    "/v1/setup_intents/{intent}/confirm",
    (c, s) => s.setupIntents.confirm(c.ids[0], c.params, c.ctx),
  ],
  [
    "POST",
    "/v1/setup_intents/:id/cancel",
    "/v1/setup_intents/{intent}/cancel",
    (c, s) => s.setupIntents.cancel(c.ids[0], c.params, c.ctx),
  ],
  // Disputes and balance
  ["GET", "/v1/disputes", "/v1/disputes", (c, s) => s.disputes.list(c.params)],
  ["GET", "/v1/disputes/:id", "/v1/disputes/{dispute}", (c, s) => s.disputes.retrieve(c.ids[0])],
  [
    "GET",
    "/v1/balance_transactions/:id",
    "/v1/balance_transactions/{id}",
    (c, s) => {
      const transaction = s.store.balanceTransactions.get(c.ids[0])
      if (!transaction) throw resourceMissing("balance_transaction", c.ids[0])
      return transaction
    },
  ],
  // Events and webhook endpoints
  ["GET", "/v1/events", "/v1/events", (c, s) => s.events.list(c.params)],
  [
    "GET",
    "/v1/events/:id",
    "/v1/events/{id}",
    (c, s) => {
      const event = s.events.get(c.ids[0])
      if (!event) throw resourceMissing("event", c.ids[0])
      return event
    },
  ],
  ["POST", "/v1/webhook_endpoints", "/v1/webhook_endpoints", (c, s) => s.webhooks.create(c.params)],
  ["GET", "/v1/webhook_endpoints", "/v1/webhook_endpoints", (c, s) => s.webhooks.list(c.params)],
  [
    "GET",
    "/v1/webhook_endpoints/:id",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    (c, s) => s.webhooks.retrieve(c.ids[0]),
  ],
  [
    "POST",
    "/v1/webhook_endpoints/:id",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    (c, s) => s.webhooks.update(c.ids[0], c.params),
  ],
  [
    "DELETE",
    "/v1/webhook_endpoints/:id",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    (c, s) => s.webhooks.delete(c.ids[0]),
  ],
]

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The API routes, bound to the services. */
export class RouteTable {
  readonly routes: Route[]
  private readonly byShape = new Map<string, Route[]>()

  constructor(services: Services) {
    this.routes = TABLE.map(([method, template, specPath, handler]) => {
      const segments = template.split("/")
      return {
        method,
        template,
        specPath,
        label: `${method} ${template}`,
        segments,
        literals: segments.filter((segment) => !segment.startsWith(":")).length,
        run: (call: ApiCall) => {
          const result = handler(call, services)
          const params = template.endsWith("/search") ? withoutTotalCount(call.params) : call.params
          return expand(services.store, result, params)
        },
      }
    })
    for (const route of this.routes) {
      const key = `${route.method} ${route.segments.length}`
      const list = this.byShape.get(key) ?? []
      list.push(route)
      list.sort((a, b) => b.literals - a.literals)
      this.byShape.set(key, list)
    }
  }

  /** The route for a request, with its path parameters; undefined when none matches. */
  match(method: string, path: string): { route: Route; ids: string[] } | undefined {
    const segments = path.split("/")
    const candidates = this.byShape.get(`${method} ${segments.length}`)
    if (!candidates) return undefined
    for (const route of candidates) {
      const ids: string[] = []
      let ok = true
      for (let i = 0; i < segments.length; i++) {
        const expected = route.segments[i]
        if (expected.startsWith(":")) {
          if (segments[i] === "") {
            ok = false
            break
          }
          const segment = segments[i]
          ids.push(segment.includes("%") ? decodeSegment(segment) : segment)
        } else if (expected !== segments[i]) {
          ok = false
          break
        }
      }
      if (ok) return { route, ids }
    }
    return undefined
  }

  /** Every route label, for documentation and control matchers. */
  labels(): string[] {
    return this.routes.map((route) => route.label)
  }
}
