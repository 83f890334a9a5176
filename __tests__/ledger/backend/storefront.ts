import Stripe from "stripe"
import { isClearError } from "../../chaos/support/context"
import { writeChaosConfig } from "../../chaos/support/backend-config"
import {
  emulatorOf,
  findRegion,
  findVariantId,
  freePort,
  sleep,
  type ApiClient,
  type Backend,
  type Cart,
  type E2E,
  type Env,
  type Order,
  type ShippingOption,
} from "../../support"
import { heldBy, moneyRefunds } from "../support/shop"
import { describeStep, type Provider, type Step, type SwapPayment, type TestCard } from "./steps"

/**
 * A real Medusa 1.20 backend (the plugin installed from its tarball, PostgreSQL, webhooks on)
 * driven one step at a time, with the emulator as Stripe. Histories run one after the other on
 * the same backend; each knows its own carts, orders and payment collections, and the
 * invariant reads Medusa's tables and the emulator's state for those alone.
 */

/** Seconds between the plugin's retry sweeps: events and money left behind come back soon. */
const RETRY_INTERVAL_S = 1
/** The Stripe client's timeout in the backend, and how long a `timeout` fault holds a request. */
const STRIPE_TIMEOUT_MS = 1500
const FAULT_HOLD_MS = 2000
/** How long settling may take: webhooks, their retries and the sweep. */
const SETTLE_MS = 30_000
const DISCOUNT_CODE = "LEDGER10"
const RETURN_URL = "https://shop.example/checkout"
const CARD_METHODS: Record<TestCard, string> = {
  visa: "pm_card_visa",
  "3ds": "pm_card_threeDSecure2Required",
  declined: "pm_card_chargeDeclined",
}
const LOCAL_METHODS: Partial<Record<Provider, string>> = {
  "stripe-ideal": "pm_ideal",
  "stripe-sepa-debit": "pm_sepa_debit",
}
/**
 * 5xx answers Medusa 1.20's own routes give, with no plugin code on the way: selecting a
 * provider whose session the shopper deleted (the storefront must create sessions again first).
 * They are counted, not held against the plugin.
 */
const MEDUSA_CORE_5XX = [/Could not find payment session/]

/** The providers of the US region: local methods of the euro area are not offered there. */
const US_PROVIDERS = new Set<Provider>(["stripe", "manual"])

interface HistoryCart {
  id: string
  lineId?: string
  region: "eur" | "usd"
  orderId?: string
}

interface PaymentRow {
  id: string
  order_id: string | null
  cart_id: string | null
  provider_id: string
  amount: number
  amount_refunded: number
  captured_at: Date | null
  canceled_at: Date | null
  data: Record<string, unknown>
}

interface RefundRow {
  order_id: string | null
  payment_id: string | null
  amount: number
  idempotency_key: string | null
}

export interface BackendCounts {
  steps: Record<string, number>
  /** Answers of the backend by status class (2xx, 4xx, 5xx, network). */
  answers: Record<string, number>
  restarts: number
  webhookDeliveries: number
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function short(body: unknown): string {
  const text = typeof body === "string" ? body : JSON.stringify(body)
  return (text ?? "").replace(/\s+/g, " ").slice(0, 160)
}

export class Storefront {
  readonly log: string[] = []
  readonly counts: BackendCounts = { steps: {}, answers: {}, restarts: 0, webhookDeliveries: 0 }
  /** Answers that break the invariant's last rule: a 5xx, or a 4xx that names nothing. */
  private badAnswers: string[] = []
  private carts: HistoryCart[] = []
  private collections: string[] = []
  private startedAt = new Date()
  private eventsBefore = 0
  private backend!: Backend
  private stripe!: Stripe
  private variantId = ""
  private regionIds: Record<"eur" | "usd", string> = { eur: "", usd: "" }
  private countries: Record<"eur" | "usd", string> = { eur: "", usd: "" }
  private port = 0
  private readonly env: Env = {
    STRIPE_TIMEOUT: String(STRIPE_TIMEOUT_MS),
    STRIPE_MAX_NETWORK_RETRIES: "2",
    STRIPE_WEBHOOK_RETRY_INTERVAL: String(RETRY_INTERVAL_S),
  }

  constructor(private readonly e2e: E2E) {}

  private get store(): ApiClient {
    return this.e2e.store
  }

  private get emulator() {
    return emulatorOf(this.e2e)
  }

  /** Starts the backend and creates what every history uses (a discount code). */
  async open(): Promise<void> {
    writeChaosConfig(this.e2e.app)
    this.port = await freePort()
    this.backend = await this.e2e.startBackend({ env: this.env, port: this.port })
    const { host, port, protocol } = this.emulator.stripeConfig()
    // The merchant's Stripe dashboard, with the account's own key.
    this.stripe = new Stripe(this.e2e.secrets.apiKey, { host, port, protocol })
    this.variantId = await findVariantId(this.store)
    for (const key of ["eur", "usd"] as const) {
      const region = await findRegion(this.store, key)
      this.regionIds[key] = region.id
      this.countries[key] = region.countries[0].iso_2
    }
    await this.e2e.admin.post("/admin/discounts", {
      code: DISCOUNT_CODE,
      rule: { type: "percentage", value: 10, allocation: "total", description: "10% off" },
      regions: Object.values(this.regionIds),
    })
  }

  backendLogs(): string[] {
    return this.backend.logs()
  }

  /**
   * Forgets the previous history (its carts stay in the database, untouched from now on) and,
   * given a provider, starts the new one with a cart of one item paying with it.
   */
  async begin(first?: Provider): Promise<void> {
    this.log.length = 0
    this.badAnswers = []
    this.carts = []
    this.collections = []
    this.startedAt = new Date()
    this.emulator.faults.clear()
    this.emulator.webhooks.configure({ duplicates: 0, reorder: false })
    this.emulator.webhooks.pause()
    this.eventsBefore = this.emulator.events().length
    await this.e2e.db.query("UPDATE product_variant SET inventory_quantity = 1000 WHERE id = $1", [
      this.variantId,
    ])
    if (first) await this.apply({ t: "cart", quantity: 1, provider: first })
  }

  async apply(step: Step): Promise<void> {
    this.counts.steps[step.t] = (this.counts.steps[step.t] ?? 0) + 1
    let outcome: string
    try {
      outcome = await this.perform(step)
    } catch (error) {
      outcome = `threw: ${messageOf(error)}`
      this.badAnswers.push(`${describeStep(step)}: the step threw ${messageOf(error)}`)
    }
    this.log.push(`${describeStep(step)} -> ${outcome}`)
  }

  // ------------------------------------------------------------------------------------------
  // HTTP, with every answer judged

  /** A Store or Admin API call; undefined when it did not succeed (the answer is judged). */
  private async call<T>(
    client: ApiClient,
    method: string,
    path: string,
    body?: unknown
  ): Promise<{ ok: true; body: T } | { ok: false; status: number; message: string }> {
    let status: number
    let answer: unknown
    try {
      const res = await client.request<T>(method, path, body, { timeoutMs: 60_000 })
      status = res.status
      answer = res.body
    } catch (error) {
      this.count("network")
      return { ok: false, status: 0, message: messageOf(error) }
    }
    const fromCore = status >= 500 && MEDUSA_CORE_5XX.some((known) => known.test(short(answer)))
    this.count(fromCore ? "5xx from Medusa core" : `${Math.floor(status / 100)}xx`)
    if (status >= 200 && status < 300) return { ok: true, body: answer as T }
    const label = `${method} ${path.replace(/\/(cart|order|pay|ps|paycol|oe|li|swap|ret)_[A-Za-z0-9]+/g, "/$1_…")}`
    // Medusa core's own 5xx are counted apart, not held against the plugin.
    if (status >= 500 && !fromCore) {
      this.badAnswers.push(`${label} answered ${status}: ${short(answer)}`)
    } else if (status < 500 && !isClearError(status, answer)) {
      this.badAnswers.push(
        `${label} answered ${status} without naming the problem: ${short(answer)}`
      )
    }
    return { ok: false, status, message: short(answer) }
  }

  private count(kind: string): void {
    this.counts.answers[kind] = (this.counts.answers[kind] ?? 0) + 1
  }

  private async cartOf(cart: HistoryCart): Promise<Cart | undefined> {
    const got = await this.call<{ cart: Cart }>(this.store, "GET", `/store/carts/${cart.id}`)
    return got.ok ? got.body.cart : undefined
  }

  // ------------------------------------------------------------------------------------------
  // Steps

  private cartAt(index: number): HistoryCart | undefined {
    return this.carts.length > 0 ? this.carts[index % this.carts.length] : undefined
  }

  private async orders(): Promise<{ id: string; cart: HistoryCart }[]> {
    const ids = this.carts.map((c) => c.id)
    const rows = await this.e2e.db.query<{ id: string; cart_id: string }>(
      `SELECT id, cart_id FROM "order" WHERE cart_id = ANY($1) ORDER BY created_at`,
      [ids]
    )
    return rows.map((row) => {
      const cart = this.carts.find((c) => c.id === row.cart_id) as HistoryCart
      cart.orderId = row.id
      return { id: row.id, cart }
    })
  }

  private async orderAt(index: number): Promise<string | undefined> {
    const orders = await this.orders()
    return orders.length > 0 ? orders[index % orders.length].id : undefined
  }

  private async perform(step: Step): Promise<string> {
    switch (step.t) {
      case "cart":
        return this.newCart(step.quantity, step.provider)
      case "deliver":
        return this.deliver(step.how)
      case "stock":
        await this.e2e.db.query(
          "UPDATE product_variant SET inventory_quantity = $2 WHERE id = $1",
          [this.variantId, step.available ? 1000 : 0]
        )
        return "done"
      case "fault":
        this.emulator.faults.failNext(step.count, {
          kind: step.kind,
          when: step.when,
          holdMs: FAULT_HOLD_MS,
        })
        return "armed"
      case "restart":
        return this.restart(step.during)
      case "capture":
      case "refund":
      case "cancel-order":
      case "edit":
      case "swap":
      case "dash-capture":
      case "dash-cancel":
      case "dash-refund":
      case "dispute":
      case "dispute-close": {
        const orderId = await this.orderAt(step.order)
        if (!orderId) return "no order"
        return this.orderStep(orderId, step)
      }
      default: {
        const cart = this.cartAt(step.cart)
        if (!cart) return "no cart"
        return this.cartStep(cart, step)
      }
    }
  }

  private async newCart(quantity: number, provider: Provider): Promise<string> {
    const created = await this.call<{ cart: Cart }>(this.store, "POST", "/store/carts", {
      region_id: this.regionIds.eur,
    })
    if (!created.ok) return `create -> ${created.status}`
    const cart: HistoryCart = { id: created.body.cart.id, region: "eur" }
    this.carts.push(cart)
    const item = await this.call<{ cart: Cart }>(
      this.store,
      "POST",
      `/store/carts/${cart.id}/line-items`,
      { variant_id: this.variantId, quantity }
    )
    if (!item.ok) return `${cart.id}: line item -> ${item.status}`
    cart.lineId = item.body.cart.items[0]?.id
    const address = await this.call(this.store, "POST", `/store/carts/${cart.id}`, {
      email: "shopper@example.com",
      shipping_address: {
        first_name: "Erika",
        last_name: "Mustermann",
        address_1: "Hauptstrasse 1",
        city: "Berlin",
        postal_code: "10115",
        country_code: this.countries.eur,
      },
    })
    if (!address.ok) return `${cart.id}: address -> ${address.status}`
    const shipped = await this.ship(cart)
    if (shipped) return `${cart.id}: ${shipped}`
    const sessions = await this.call(this.store, "POST", `/store/carts/${cart.id}/payment-sessions`)
    if (!sessions.ok) return `${cart.id}: sessions -> ${sessions.status} ${sessions.message}`
    return `${cart.id}: ${await this.select(cart, provider)}`
  }

  /** Adds the first shipping option when the cart has none (Medusa drops it on item changes). */
  private async ship(cart: HistoryCart): Promise<string | undefined> {
    const current = await this.cartOf(cart)
    if (!current) return "cart unreadable"
    if (current.shipping_methods.length > 0) return undefined
    const options = await this.call<{ shipping_options: ShippingOption[] }>(
      this.store,
      "GET",
      `/store/shipping-options/${cart.id}`
    )
    if (!options.ok || options.body.shipping_options.length === 0) return "no shipping option"
    const added = await this.call(this.store, "POST", `/store/carts/${cart.id}/shipping-methods`, {
      option_id: options.body.shipping_options[0].id,
    })
    return added.ok ? undefined : `shipping -> ${added.status}`
  }

  private async select(cart: HistoryCart, provider: Provider): Promise<string> {
    const chosen = cart.region === "usd" && !US_PROVIDERS.has(provider) ? "stripe" : provider
    const selected = await this.call<{ cart: Cart }>(
      this.store,
      "POST",
      `/store/carts/${cart.id}/payment-session`,
      { provider_id: chosen }
    )
    if (!selected.ok) return `select ${chosen} -> ${selected.status} ${selected.message}`
    const id = selected.body.cart.payment_session?.data?.id
    return `${chosen} selected${typeof id === "string" ? ` (${id})` : ""}`
  }

  private async selectedSession(cart: HistoryCart) {
    const current = await this.cartOf(cart)
    return current?.payment_session ?? undefined
  }

  private async cartStep(cart: HistoryCart, step: Step): Promise<string> {
    switch (step.t) {
      case "quantity": {
        if (!cart.lineId) return "no line item"
        const changed = await this.call(
          this.store,
          "POST",
          `/store/carts/${cart.id}/line-items/${cart.lineId}`,
          { quantity: step.quantity }
        )
        if (!changed.ok) return `-> ${changed.status} ${changed.message}`
        return (await this.ship(cart)) ?? "done"
      }
      case "select":
        return this.select(cart, step.provider)
      case "sessions": {
        const made = await this.call(this.store, "POST", `/store/carts/${cart.id}/payment-sessions`)
        return made.ok ? "done" : `-> ${made.status} ${made.message}`
      }
      case "delete": {
        const session = await this.selectedSession(cart)
        if (!session) return "no session selected"
        const deleted = await this.call(
          this.store,
          "DELETE",
          `/store/carts/${cart.id}/payment-sessions/${session.provider_id}`
        )
        return deleted.ok
          ? `${session.provider_id} deleted`
          : `-> ${deleted.status} ${deleted.message}`
      }
      case "refresh": {
        const session = await this.selectedSession(cart)
        if (!session) return "no session selected"
        const refreshed = await this.call<{ cart: Cart }>(
          this.store,
          "POST",
          `/store/carts/${cart.id}/payment-sessions/${session.provider_id}/refresh`
        )
        return refreshed.ok
          ? `now ${String(refreshed.body.cart.payment_session?.data?.id ?? "no intent")}`
          : `-> ${refreshed.status} ${refreshed.message}`
      }
      case "confirm":
        return this.confirm(cart, step.card)
      case "action": {
        const session = await this.selectedSession(cart)
        const id = session?.data?.id
        if (typeof id !== "string") return "no intent"
        if (this.emulator.paymentIntent(id)?.status !== "requires_action") return "no action due"
        const intent = step.pass
          ? await this.emulator.completeAction(id)
          : await this.emulator.failAction(id)
        return `${id} -> ${intent.status}`
      }
      case "complete":
        return this.complete(cart, step.twice, step.webhook)
      case "discount": {
        const applied = await this.call(this.store, "POST", `/store/carts/${cart.id}`, {
          discounts: [{ code: DISCOUNT_CODE }],
        })
        return applied.ok ? "applied" : `-> ${applied.status} ${applied.message}`
      }
      case "gift-card": {
        const made = await this.call<{ gift_card: { code: string } }>(
          this.e2e.admin,
          "POST",
          "/admin/gift-cards",
          { region_id: this.regionIds[cart.region], value: 1000 }
        )
        if (!made.ok) return `gift card -> ${made.status}`
        const applied = await this.call(this.store, "POST", `/store/carts/${cart.id}`, {
          gift_cards: [{ code: made.body.gift_card.code }],
        })
        return applied.ok ? "applied" : `-> ${applied.status} ${applied.message}`
      }
      case "region": {
        if (cart.region === "usd") return "already in the US"
        const moved = await this.call(this.store, "POST", `/store/carts/${cart.id}`, {
          region_id: this.regionIds.usd,
          shipping_address: { country_code: this.countries.usd },
        })
        if (!moved.ok) return `-> ${moved.status} ${moved.message}`
        cart.region = "usd"
        const shipped = await this.ship(cart)
        if (shipped) return shipped
        const made = await this.call(this.store, "POST", `/store/carts/${cart.id}/payment-sessions`)
        if (!made.ok) return `sessions -> ${made.status} ${made.message}`
        return this.select(cart, "stripe")
      }
      case "bank": {
        const processing = this.emulator
          .paymentIntents()
          .filter((pi) => pi.metadata?.resource_id === cart.id && pi.status === "processing")
        for (const intent of processing) {
          await this.emulator.settleProcessing(intent.id, { succeed: step.succeed })
        }
        return processing.length > 0
          ? processing.map((pi) => pi.id).join(", ")
          : "nothing processing"
      }
      default:
        return "not a cart step"
    }
  }

  private async confirm(cart: HistoryCart, card: TestCard): Promise<string> {
    const session = await this.selectedSession(cart)
    const id = session?.data?.id
    if (!session || typeof id !== "string") return "no intent"
    const provider = session.provider_id as Provider
    const method = LOCAL_METHODS[provider] ?? CARD_METHODS[card]
    try {
      const intent = await this.emulator.confirmPaymentIntent(id, {
        payment_method: method,
        return_url: RETURN_URL,
      })
      return `${id} with ${method} -> ${intent.status}`
    } catch (error) {
      return `${id}: refused (${messageOf(error).slice(0, 80)})`
    }
  }

  private async complete(cart: HistoryCart, twice: boolean, webhook: boolean): Promise<string> {
    const path = `/store/carts/${cart.id}/complete`
    const calls = [this.call<{ type: string; data: Order | Cart }>(this.store, "POST", path)]
    if (twice) calls.push(this.call(this.store, "POST", path))
    const delivered = webhook ? this.emulator.webhooks.flush() : Promise.resolve()
    const [answers] = await Promise.all([Promise.all(calls), delivered])
    return answers
      .map((answer) =>
        answer.ok
          ? `${answer.body.type} ${answer.body.data.id}`
          : `${answer.status} ${answer.message}`
      )
      .join(" | ")
  }

  /**
   * Releases the events Stripe holds back: in order, newest first, or each sent a second time
   * once the first delivery is done (the way Stripe retries one it thinks failed), the second
   * copies all at once.
   */
  private async deliver(how: "in order" | "duplicated" | "reordered"): Promise<string> {
    const before = this.deliveryAttempts()
    const sentBefore = new Set(
      this.emulator.webhooks
        .deliveries()
        .filter((delivery) => delivery.attempts.length > 0)
        .map((delivery) => delivery.id)
    )
    this.emulator.webhooks.configure({ duplicates: 0, reorder: how === "reordered" })
    await this.emulator.webhooks.flush()
    this.emulator.webhooks.configure({ duplicates: 0, reorder: false })
    if (how === "duplicated") {
      const released = this.emulator.webhooks
        .deliveries()
        .filter((delivery) => delivery.attempts.length > 0 && !sentBefore.has(delivery.id))
        .map((delivery) => delivery.eventId)
      await Promise.all([...new Set(released)].map((id) => this.emulator.webhooks.redeliver(id)))
    }
    const sent = this.deliveryAttempts() - before
    this.counts.webhookDeliveries += sent
    return `${sent} deliveries`
  }

  /** Requests the emulator has sent to the backend's webhook route so far (a delivery is queued first). */
  private deliveryAttempts(): number {
    return this.emulator.webhooks
      .deliveries()
      .reduce((sum, delivery) => sum + delivery.attempts.length, 0)
  }

  private async restart(during: "idle" | "complete"): Promise<string> {
    let note = "killed"
    if (during === "complete") {
      const cart = [...this.carts].reverse().find((c) => !c.orderId)
      if (cart) {
        const inFlight = this.store
          .request("POST", `/store/carts/${cart.id}/complete`, undefined, { timeoutMs: 60_000 })
          .then(
            (res) => `${res.status}`,
            () => "no answer"
          )
        await sleep(120)
        await this.backend.kill("SIGKILL")
        note = `killed while ${cart.id} completed (${await inFlight})`
      }
    }
    if (!this.backend.exited()) await this.backend.kill("SIGKILL")
    this.counts.restarts += 1
    this.backend = await this.e2e.startBackend({
      env: this.env,
      port: this.port,
      registerWebhook: false,
    })
    return `${note}, restarted`
  }

  private async livePayments(orderId: string): Promise<PaymentRow[]> {
    return this.e2e.db.query<PaymentRow>(
      `SELECT * FROM payment WHERE order_id = $1 AND canceled_at IS NULL AND provider_id LIKE 'stripe%'
       ORDER BY created_at`,
      [orderId]
    )
  }

  private async orderStep(orderId: string, step: Step): Promise<string> {
    const admin = this.e2e.admin
    switch (step.t) {
      case "capture": {
        const done = await this.call(admin, "POST", `/admin/orders/${orderId}/capture`)
        return done.ok ? "captured" : `-> ${done.status} ${done.message}`
      }
      case "refund": {
        const order = await this.call<{
          order: Order & { paid_total: number; refunded_total: number }
        }>(admin, "GET", `/admin/orders/${orderId}`)
        if (!order.ok) return "order unreadable"
        const refundable = order.body.order.paid_total - order.body.order.refunded_total
        const amount = step.part === "half" ? Math.floor(refundable / 2) : refundable
        if (amount <= 0) return "nothing to refund"
        const done = await this.call(admin, "POST", `/admin/orders/${orderId}/refund`, {
          amount,
          reason: "other",
        })
        return done.ok ? `refunded ${amount}` : `${amount} -> ${done.status} ${done.message}`
      }
      case "cancel-order": {
        const done = await this.call(admin, "POST", `/admin/orders/${orderId}/cancel`)
        return done.ok ? "canceled" : `-> ${done.status} ${done.message}`
      }
      case "edit":
        return this.edit(orderId, step.sessions, step.upto)
      case "swap":
        return this.swap(orderId, step.pay, step.then)
      default:
        return this.atStripe(orderId, step)
    }
  }

  /** What the merchant or the cardholder's bank does at Stripe, on the order's first intent. */
  private async atStripe(orderId: string, step: Step): Promise<string> {
    const [payment] = await this.livePayments(orderId)
    const intentId = typeof payment?.data.id === "string" ? payment.data.id : undefined
    if (!intentId) return "no Stripe payment"
    const intent = this.emulator.paymentIntent(intentId)
    if (!intent) return `${intentId} unknown`
    try {
      switch (step.t) {
        case "dash-capture": {
          if (intent.status !== "requires_capture") return `${intentId} is ${intent.status}`
          const amount =
            step.part === "full"
              ? intent.amount_capturable
              : Math.floor(intent.amount_capturable / 2)
          await this.stripe.paymentIntents.capture(intentId, { amount_to_capture: amount })
          return `${intentId}: captured ${amount}`
        }
        case "dash-cancel": {
          if (intent.status !== "requires_capture") return `${intentId} is ${intent.status}`
          await this.stripe.paymentIntents.cancel(intentId)
          return `${intentId}: canceled`
        }
        case "dash-refund": {
          const charge = this.chargeOf(intentId)
          if (!charge) return `${intentId}: nothing captured`
          const left = charge.amount_captured - charge.amount_refunded
          const amount = step.part === "half" ? Math.floor(left / 2) : left
          if (amount <= 0) return `${intentId}: nothing left to refund`
          await this.emulator.refundFromDashboard(intentId, amount)
          return `${intentId}: refunded ${amount}`
        }
        case "dispute": {
          const charge = this.chargeOf(intentId)
          if (!charge || charge.disputed) return `${intentId}: nothing to dispute`
          const dispute = await this.emulator.createDispute(intentId)
          return `${dispute.id} on ${intentId}`
        }
        case "dispute-close": {
          const open = this.emulator
            .disputes()
            .find((d) => d.payment_intent === intentId && !["won", "lost"].includes(d.status))
          if (!open) return `${intentId}: no open dispute`
          await this.emulator.closeDispute(open.id, step.outcome)
          return `${open.id} ${step.outcome}`
        }
        default:
          return "not a Stripe step"
      }
    } catch (error) {
      return `refused by Stripe (${messageOf(error).slice(0, 80)})`
    }
  }

  private chargeOf(intentId: string): Stripe.Charge | undefined {
    return this.emulator
      .charges()
      .find((c) => c.payment_intent === intentId && c.captured && c.status === "succeeded")
  }

  /** An order edit adding an item, paid through its payment collection, completed or canceled. */
  private async edit(
    orderId: string,
    sessions: 1 | 2,
    upto: "requested" | "authorized" | "completed"
  ): Promise<string> {
    const admin = this.e2e.admin
    const created = await this.call<{ order_edit: { id: string } }>(
      admin,
      "POST",
      "/admin/order-edits",
      {
        order_id: orderId,
      }
    )
    if (!created.ok) return `create -> ${created.status} ${created.message}`
    const editId = created.body.order_edit.id
    const cancel = async (why: string) => {
      const canceled = await this.call(admin, "POST", `/admin/order-edits/${editId}/cancel`)
      return `${why}, edit canceled${canceled.ok ? "" : ` -> ${canceled.status} ${canceled.message}`}`
    }
    const item = await this.call(admin, "POST", `/admin/order-edits/${editId}/items`, {
      variant_id: this.variantId,
      quantity: 1,
    })
    if (!item.ok) return cancel(`item -> ${item.status} ${item.message}`)
    const requested = await this.call<{
      order_edit: { difference_due: number; payment_collection_id: string | null }
    }>(admin, "POST", `/admin/order-edits/${editId}/request`, {})
    if (!requested.ok) return cancel(`request -> ${requested.status} ${requested.message}`)
    const { difference_due: due, payment_collection_id: collectionId } = requested.body.order_edit
    if (!collectionId || due <= 0) return cancel("nothing due")
    this.collections.push(collectionId)
    if (upto === "requested") return cancel(`${collectionId} of ${due} requested`)
    const first = sessions === 1 ? due : Math.floor(due / 2)
    const amounts = sessions === 1 ? [due] : [first, due - first]
    const batch = await this.call<{
      payment_collection: {
        id: string
        payment_sessions: { id: string; data: Record<string, unknown> }[]
      }
    }>(this.store, "POST", `/store/payment-collections/${collectionId}/sessions/batch`, {
      sessions: amounts.map((amount) => ({ provider_id: "stripe", amount })),
    })
    if (!batch.ok) return cancel(`sessions -> ${batch.status} ${batch.message}`)
    const paid = batch.body.payment_collection.payment_sessions
    for (const session of paid) {
      if (typeof session.data.id === "string") {
        await this.emulator.confirmPaymentIntent(session.data.id, {
          payment_method: "pm_card_visa",
        })
      }
    }
    const authorized = await this.call(
      this.store,
      "POST",
      `/store/payment-collections/${collectionId}/sessions/batch/authorize`,
      { session_ids: paid.map((session) => session.id) }
    )
    if (!authorized.ok) return cancel(`authorize -> ${authorized.status} ${authorized.message}`)
    if (upto === "authorized") return cancel(`${collectionId}: ${amounts.join(" + ")} authorized`)
    const completed = await this.call(this.store, "POST", `/store/order-edits/${editId}/complete`)
    return completed.ok
      ? `${collectionId}: ${amounts.join(" + ")} paid, edit completed`
      : `complete -> ${completed.status} ${completed.message}`
  }

  /**
   * A swap of the order's first item for two of the same variant, its difference paid at Stripe
   * through the swap's cart (which the history then knows as one of its carts), and then
   * processed, canceled or left. The order is fulfilled first when it is not: Medusa swaps only
   * fulfilled items.
   */
  private async swap(
    orderId: string,
    pay: SwapPayment,
    then: "process" | "cancel" | "leave"
  ): Promise<string> {
    const admin = this.e2e.admin
    const read = await this.call<{
      order: { items: { id: string; quantity: number; fulfilled_quantity: number | null }[] }
    }>(admin, "GET", `/admin/orders/${orderId}`)
    if (!read.ok) return `order unreadable -> ${read.status}`
    const item = read.body.order.items[0]
    if (!item) return "no item"
    const unfulfilled = item.quantity - (item.fulfilled_quantity ?? 0)
    if (unfulfilled > 0) {
      const fulfilled = await this.call(admin, "POST", `/admin/orders/${orderId}/fulfillment`, {
        items: [{ item_id: item.id, quantity: unfulfilled }],
      })
      if (!fulfilled.ok) return `fulfillment -> ${fulfilled.status} ${fulfilled.message}`
    }
    const before = await this.e2e.db.query<{ id: string }>(
      "SELECT id FROM swap WHERE order_id = $1",
      [orderId]
    )
    const created = await this.call(admin, "POST", `/admin/orders/${orderId}/swaps`, {
      return_items: [{ item_id: item.id, quantity: 1 }],
      additional_items: [{ variant_id: this.variantId, quantity: 2 }],
    })
    if (!created.ok) return `swap -> ${created.status} ${created.message}`
    const [swap] = await this.e2e.db.query<{ id: string; cart_id: string; return_id: string }>(
      `SELECT s.id, s.cart_id, r.id AS return_id FROM swap s JOIN return r ON r.swap_id = s.id
       WHERE s.order_id = $1 AND NOT s.id = ANY($2)`,
      [orderId, before.map((row) => row.id)]
    )
    if (!swap?.cart_id) return "swap made without a cart"
    const region = this.carts.find((c) => c.orderId === orderId)?.region ?? "eur"
    const cart: HistoryCart = { id: swap.cart_id, region }
    this.carts.push(cart)
    const paid = await this.paySwap(cart, pay)
    const base = `/admin/orders/${orderId}/swaps/${swap.id}`
    if (then === "leave") return `${swap.id}: ${paid}`
    if (then === "process") {
      const processed = await this.call(admin, "POST", `${base}/process-payment`)
      return `${swap.id}: ${paid}; ${processed.ok ? "processed" : `process -> ${processed.status} ${processed.message}`}`
    }
    const returned = await this.call(admin, "POST", `/admin/returns/${swap.return_id}/cancel`)
    if (!returned.ok)
      return `${swap.id}: ${paid}; return cancel -> ${returned.status} ${returned.message}`
    const canceled = await this.call(admin, "POST", `${base}/cancel`)
    return `${swap.id}: ${paid}; ${canceled.ok ? "canceled" : `cancel -> ${canceled.status} ${canceled.message}`}`
  }

  private async paySwap(cart: HistoryCart, pay: SwapPayment): Promise<string> {
    const shipped = await this.ship(cart)
    if (shipped) return shipped
    const sessions = await this.call(this.store, "POST", `/store/carts/${cart.id}/payment-sessions`)
    if (!sessions.ok) return `sessions -> ${sessions.status} ${sessions.message}`
    const selected = await this.select(cart, "stripe")
    if (pay === "card") {
      const confirmed = await this.confirm(cart, "visa")
      return `${selected}; ${confirmed}; completed -> ${await this.complete(cart, false, false)}`
    }
    const confirmed = await this.confirm(cart, "3ds")
    const session = await this.selectedSession(cart)
    const id = session?.data?.id
    if (typeof id !== "string") return `${selected}; ${confirmed}`
    const intent = await this.emulator.completeAction(id)
    return `${selected}; ${confirmed}; 3-D Secure passed -> ${intent.status}, shopper gone`
  }

  // ------------------------------------------------------------------------------------------
  // Settling and the invariant

  /**
   * The end of a history: faults stop, processing debits settle, Stripe delivers every event,
   * a shopper whose money Stripe holds comes back to complete the cart, and the plugin's sweep
   * runs. Returns the invariant's violations once they are gone, or as they stand at the
   * deadline.
   */
  async settle(): Promise<string[]> {
    this.emulator.faults.clear()
    this.emulator.webhooks.configure({ duplicates: 0, reorder: false })
    for (const intent of this.intents()) {
      if (intent.status !== "processing") continue
      await this.emulator.settleProcessing(intent.id, { succeed: true })
      this.log.push(`settle: the bank settles ${intent.id}`)
    }
    await this.deliverAll()
    await this.orders()
    for (const cart of this.carts) {
      if (cart.orderId) continue
      const current = await this.cartOf(cart)
      if (!current || current.completed_at) continue
      const id = current.payment_session?.data?.id
      const intent = typeof id === "string" ? this.emulator.paymentIntent(id) : undefined
      if (!intent || heldBy(intent, this.emulator.charges(), this.emulator.disputes()) === 0)
        continue
      this.log.push(
        `settle: ${cart.id}: the shopper returns -> ${await this.complete(cart, false, false)}`
      )
    }
    await this.deliverAll()
    const deadline = Date.now() + SETTLE_MS
    let found = await this.violations()
    while (found.length > 0 && Date.now() < deadline) {
      await sleep(500)
      await this.deliverAll()
      found = await this.violations()
    }
    this.emulator.webhooks.pause()
    return found
  }

  /** Delivers every queued event and waits until the backend has processed them. */
  private async deliverAll(): Promise<void> {
    const before = this.deliveryAttempts()
    await this.emulator.webhooks.flush()
    this.counts.webhookDeliveries += this.deliveryAttempts() - before
    const deadline = Date.now() + SETTLE_MS
    while (Date.now() < deadline && (await this.unsettledEvents()).length > 0) await sleep(200)
  }

  private async unsettledEvents(): Promise<
    { id: string; type: string; status: string; last_error: string | null }[]
  > {
    const ids = this.historyEvents().map((event) => event.id)
    return this.e2e.db.query(
      `SELECT id, type, status, last_error FROM stripe_webhook_event
       WHERE id = ANY($1) AND status NOT IN ('processed', 'ignored')`,
      [ids]
    )
  }

  private historyEvents(): Stripe.Event[] {
    return this.emulator.events().slice(this.eventsBefore)
  }

  /** Intents made for this history's carts and payment collections. */
  private intents(): Stripe.PaymentIntent[] {
    const owners = new Set([...this.carts.map((c) => c.id), ...this.collections])
    return this.emulator
      .paymentIntents()
      .filter((pi) => owners.has(String(pi.metadata?.resource_id ?? "")))
  }

  /** The ledger invariant over this history's carts, orders and payment collections. */
  async violations(): Promise<string[]> {
    const found = [...this.badAnswers]
    const intents = this.intents()
    const charges = this.emulator.charges()
    const disputes = this.emulator.disputes()
    const refunds = moneyRefunds(this.emulator.refunds(), charges)
    const payments = await this.e2e.db.query<PaymentRow>(
      `SELECT * FROM payment WHERE data->>'id' = ANY($1)`,
      [intents.map((pi) => pi.id)]
    )
    const orderIds = [...new Set(payments.map((p) => p.order_id).filter((id) => id !== null))]
    const refundRows = await this.e2e.db.query<RefundRow>(
      `SELECT order_id, payment_id, amount, idempotency_key FROM refund
       WHERE payment_id = ANY($1) OR order_id = ANY($2) OR idempotency_key LIKE 'stripe-%'`,
      [payments.map((p) => p.id), orderIds]
    )
    for (const cart of this.carts) {
      const holding = intents.filter(
        (pi) => pi.metadata?.resource_id === cart.id && heldBy(pi, charges, disputes) !== 0
      )
      if (holding.length > 1) {
        found.push(
          `${cart.id}: ${holding.length} intents hold money (${holding.map((pi) => pi.id).join(", ")})`
        )
      }
    }
    for (const intent of intents) {
      const held = heldBy(intent, charges, disputes)
      const live = payments.filter((p) => p.data.id === intent.id && p.canceled_at === null)
      const owner = String(intent.metadata?.resource_id)
      if (held !== 0 && live.length !== 1) {
        found.push(
          `${owner}: ${intent.id} (${intent.status}) holds ${held} and ${live.length} live Medusa payments rest on it`
        )
      }
      const booked = live.reduce(
        (sum, p) => sum + (p.captured_at ? p.amount - p.amount_refunded : p.amount),
        0
      )
      if (live.length > 0 && booked !== held) {
        const p = live[0]
        found.push(
          `${owner}: Medusa books ${booked} on ${intent.id} (${p.id}: amount ${p.amount}, ${p.captured_at ? `captured, refunded ${p.amount_refunded}` : "not captured"}) but Stripe holds ${held} (${intent.status})`
        )
      }
      const mine = payments.filter((p) => p.data.id === intent.id)
      found.push(...this.refundsOnce(owner, intent.id, mine, refundRows, refunds, disputes))
    }
    for (const orderId of orderIds) {
      found.push(...(await this.orderRefunds(orderId as string, refundRows, refunds, disputes)))
    }
    return [...new Set(found)]
  }

  /**
   * Every Stripe refund of an intent is in Medusa once: in a payment's data (refunds the plugin
   * made for the admin) or as a Refund keyed by its id (refunds the reconciler booked); every
   * lost dispute is one Refund keyed by the dispute.
   */
  private refundsOnce(
    owner: string,
    intentId: string,
    payments: PaymentRow[],
    refundRows: RefundRow[],
    refunds: Stripe.Refund[],
    disputes: Stripe.Dispute[]
  ): string[] {
    if (payments.length === 0) return []
    const found: string[] = []
    const inData = payments.flatMap((p) =>
      Array.isArray(p.data.refunds)
        ? (p.data.refunds as { id?: unknown }[]).map((r) => String(r.id))
        : []
    )
    const keyed = (key: string) => refundRows.filter((row) => row.idempotency_key === key).length
    for (const refund of refunds.filter((r) => r.payment_intent === intentId)) {
      const times =
        inData.filter((id) => id === refund.id).length + keyed(`stripe-refund:${refund.id}`)
      if (times !== 1) {
        found.push(
          `${owner}: Stripe refund ${refund.id} of ${refund.amount} on ${intentId} is in Medusa ${times} times`
        )
      }
    }
    for (const dispute of disputes) {
      if (dispute.payment_intent !== intentId || dispute.status !== "lost") continue
      const times = keyed(`stripe-dispute:${dispute.id}`)
      if (times !== 1) {
        found.push(
          `${owner}: lost dispute ${dispute.id} on ${intentId} is in Medusa's refunds ${times} times`
        )
      }
    }
    return found
  }

  /**
   * An order's Refunds (Medusa books an admin refund on the order, not on one payment) add up to
   * what Stripe gave back on the intents its payments rest on, refunds and lost disputes.
   */
  private async orderRefunds(
    orderId: string,
    refundRows: RefundRow[],
    refunds: Stripe.Refund[],
    disputes: Stripe.Dispute[]
  ): Promise<string[]> {
    const payments = await this.e2e.db.query<PaymentRow>(
      `SELECT * FROM payment WHERE order_id = $1`,
      [orderId]
    )
    const intentIds = new Set(
      payments.filter((p) => p.provider_id.startsWith("stripe")).map((p) => String(p.data.id))
    )
    const otherRefunded = payments
      .filter((p) => !p.provider_id.startsWith("stripe"))
      .reduce((sum, p) => sum + p.amount_refunded, 0)
    const atStripe =
      refunds
        .filter((r) => intentIds.has(String(r.payment_intent)))
        .reduce((sum, r) => sum + r.amount, 0) +
      disputes
        .filter((d) => d.status === "lost" && intentIds.has(String(d.payment_intent)))
        .reduce((sum, d) => sum + d.amount, 0)
    const inMedusa =
      refundRows
        .filter((row) => row.order_id === orderId)
        .reduce((sum, row) => sum + row.amount, 0) - otherRefunded
    return inMedusa === atStripe
      ? []
      : [`${orderId}: Medusa's refunds add up to ${inMedusa}, Stripe gave back ${atStripe}`]
  }
}
