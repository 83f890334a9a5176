import type Stripe from "stripe"
import type { Behaviour } from "./payment-methods"
import type { IdGenerator } from "./random"

/** Who caused a change: the API request (for `event.request`) or a control (all null). */
export interface RequestContext {
  requestId: string | null
  idempotencyKey: string | null
}

export const NO_REQUEST: RequestContext = { requestId: null, idempotencyKey: null }

/** A customer action an intent waits for (3D Secure, bank redirect, BLIK approval). */
export interface PendingAction {
  flow: "authenticate" | "redirect" | "blik"
  paymentMethod: string
  /** Where the hosted page sends the shopper back to. */
  returnUrl: string | null
}

/** A webhook endpoint as stored: the API object plus its signing secret. */
export interface StoredEndpoint {
  endpoint: Stripe.WebhookEndpoint
  secret: string
}

/** The maps of {@link Store} that hold the account's data (webhook endpoints are configuration). */
const DATA_MAPS = [
  "paymentIntents",
  "charges",
  "refunds",
  "customers",
  "paymentMethods",
  "setupIntents",
  "events",
  "disputes",
  "balanceTransactions",
  "behaviours",
  "pendingActions",
  "chargeRefunds",
] as const

export type DataMap = (typeof DATA_MAPS)[number]

/** The account's data as JSON: each map as its entries, oldest first. */
export type StoreSnapshot = Record<DataMap, [string, unknown][]>

/** Everything the emulated account holds, in memory. */
export class Store {
  readonly paymentIntents = new Map<string, Stripe.PaymentIntent>()
  readonly charges = new Map<string, Stripe.Charge>()
  readonly refunds = new Map<string, Stripe.Refund>()
  readonly customers = new Map<string, Stripe.Customer | Stripe.DeletedCustomer>()
  readonly paymentMethods = new Map<string, Stripe.PaymentMethod>()
  readonly setupIntents = new Map<string, Stripe.SetupIntent>()
  readonly events = new Map<string, Stripe.Event>()
  readonly disputes = new Map<string, Stripe.Dispute>()
  readonly balanceTransactions = new Map<string, Stripe.BalanceTransaction>()
  readonly webhookEndpoints = new Map<string, StoredEndpoint>()
  /** Behaviour of each stored PaymentMethod when used for a payment. */
  readonly behaviours = new Map<string, Behaviour>()
  /** Pending customer actions by PaymentIntent / SetupIntent id. */
  readonly pendingActions = new Map<string, PendingAction>()
  /** Refund ids of each charge, oldest first. */
  readonly chargeRefunds = new Map<string, string[]>()

  constructor(
    readonly clock: () => number,
    private readonly ids: IdGenerator
  ) {}

  /** Unix seconds. */
  now(): number {
    return Math.floor(this.clock() / 1000)
  }

  id(prefix: string): string {
    return this.ids(prefix)
  }

  /** Forgets all data; webhook endpoints are configuration and stay unless asked. */
  clear(options: { webhookEndpoints?: boolean } = {}): void {
    this.paymentIntents.clear()
    this.charges.clear()
    this.refunds.clear()
    this.customers.clear()
    this.paymentMethods.clear()
    this.setupIntents.clear()
    this.events.clear()
    this.disputes.clear()
    this.balanceTransactions.clear()
    this.behaviours.clear()
    this.pendingActions.clear()
    this.chargeRefunds.clear()
    if (options.webhookEndpoints) {
      this.webhookEndpoints.clear()
    }
  }

  /** The account's data (not the webhook endpoints) as plain JSON values. */
  snapshot(): StoreSnapshot {
    const snapshot = {} as StoreSnapshot
    for (const name of DATA_MAPS) {
      const map: Map<string, unknown> = this[name]
      snapshot[name] = JSON.parse(JSON.stringify([...map.entries()])) as [string, unknown][]
    }
    return snapshot
  }

  /** Replaces the account's data with a snapshot's; webhook endpoints stay as they are. */
  restore(snapshot: StoreSnapshot): void {
    this.clear()
    for (const name of DATA_MAPS) {
      const map = this[name] as Map<string, unknown>
      for (const [id, value] of snapshot[name] ?? []) map.set(id, value)
    }
  }

  /** Any stored object by id, for expansion. */
  lookup(id: string): object | undefined {
    const prefix = id.slice(0, id.indexOf("_"))
    switch (prefix) {
      case "pi":
        return this.paymentIntents.get(id)
      case "ch":
      case "py":
        return this.charges.get(id)
      case "re":
      case "pyr":
        return this.refunds.get(id)
      case "cus":
        return this.customers.get(id)
      case "pm":
        return this.paymentMethods.get(id)
      case "seti":
        return this.setupIntents.get(id)
      case "evt":
        return this.events.get(id)
      case "dp":
        return this.disputes.get(id)
      case "txn":
        return this.balanceTransactions.get(id)
      case "we":
        return this.webhookEndpoints.get(id)?.endpoint
      default:
        return undefined
    }
  }
}

/** What the domain modules need besides the store. */
export interface Core {
  readonly store: Store
  /** Records an event for `object` (snapshotted now) and hands it to webhook delivery. */
  emit(type: string, object: object, ctx: RequestContext, previous?: Record<string, unknown>): void
  /** Base URL of the running emulator, for next_action URLs. */
  baseUrl(): string
}
