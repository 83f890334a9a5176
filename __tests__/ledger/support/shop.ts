import type { PaymentProcessorContext, PaymentProcessorError } from "@medusajs/medusa"
import Stripe from "stripe"
import type { BookedPayment, PaymentBookings } from "../../../src/core/payment-bookings"
import { parseSessionData, withRefund, type RecordedRefund } from "../../../src/core/session-data"
import type { StripeBase } from "../../../src/core/stripe-base"
import type { StripeEmulator } from "../../../src/emulator"
import type {
  LedgerPayment,
  LedgerResource,
  LedgerView,
  MedusaBooks,
} from "../../../src/reconcile/ledger"
import { PLUGIN_REFUND_GRACE_MS } from "../../../src/reconcile/plan"
import { PaymentIntentReconciler } from "../../../src/reconcile/reconciler"
import StripeProviderService from "../../../src/services/stripe-provider"
import IdealProviderService from "../../../src/services/stripe-ideal"
import SepaDebitProviderService from "../../../src/services/stripe-sepa-debit"
import { buildProcessor, TEST_API_KEY, type FakeCart } from "../../support/processor"
import { describeStep, type Provider, type Step, type TestCard } from "./steps"

/**
 * A fake Medusa in front of the real processors and the emulator: carts with totals, payment
 * sessions holding what the processor returned, Payments and Refunds, each changed the way
 * Medusa 1.20 changes them with each answer. After every step {@link Shop.violations} compares
 * what Stripe holds with what Medusa books.
 */

type Data = Record<string, unknown>

interface Session {
  provider: Provider
  data: Data
  status?: string
}

interface Payment {
  id: string
  resourceId: string
  provider: Provider
  amount: number
  captured: boolean
  canceled: boolean
  amount_refunded: number
  data: Data
  /** The order the payment was booked on, once the order is placed. */
  orderId?: string
  /** Medusa's Refund rows, each with the Stripe refund ids the answer added to the data. */
  refunds: RefundRow[]
}

/**
 * A Medusa `Refund` row. Rows the processor's answer made carry the Stripe refund ids the answer
 * added to the data; rows the reconciler booked carry their key (`stripe-refund:<id>` or
 * `stripe-dispute:<id>`) and, for a lost dispute, the dispute's id instead of a refund's.
 */
interface RefundRow {
  amount: number
  stripeIds: string[]
  key?: string
  dispute?: string
}

interface Resource {
  kind: "cart" | "collection"
  id: string
  total: number
  /** The cart's session (carts have at most one: switching provider deletes the other). */
  session?: Session
  /** A collection's sessions. */
  sessions: Session[]
  /** The provider the shopper picked last; a total back from 0 makes a session for it. */
  provider?: Provider
  completed: boolean
  payments: Payment[]
  /** Intents whose client secret reached the storefront in some session's data. */
  shown: Set<string>
  /** The order's metadata the reconciler writes: disputes by id (status) and flagged issues. */
  disputes: Record<string, string>
  flags: string[]
}

/** Every history starts with one cart of this total. */
const FIRST_TOTAL = 2500
const SHOPPER_EMAIL = "shopper@example.com"
/** Client timeout of the processors and how long a `timeout` fault holds a request past it. */
export const CLIENT_TIMEOUT_MS = 500
const FAULT_HOLD_MS = 650
const RETURN_URL = "https://shop.example/checkout"
const MONEY_MOVING_REFUND = new Set(["succeeded", "pending", "requires_action"])
/** How the emulator's refused refunds come back: an API error, or a refund in status failed. */
const REFUSED_REFUND_CODES = new Set(["balance_insufficient", "insufficient_funds"])
const UPDATABLE = new Set(["requires_payment_method", "requires_confirmation", "requires_action"])

/** Keys of the Refund rows the reconciler books, as `MedusaTableBooks` writes them. */
const REFUND_KEY_PREFIX = "stripe-refund:"
const DISPUTE_KEY_PREFIX = "stripe-dispute:"
const CLOSED_DISPUTE = new Set(["won", "lost"])

const TEST_CARDS: Record<TestCard, string> = {
  visa: "pm_card_visa",
  "3ds": "pm_card_threeDSecure2Required",
  declined: "pm_card_chargeDeclined",
}

function isProcessorError(value: unknown): value is PaymentProcessorError {
  return typeof value === "object" && value !== null && "error" in value
}

function refundsIn(data: Data): RecordedRefund[] {
  return Array.isArray(data.refunds) ? (data.refunds as RecordedRefund[]) : []
}

function intentIdOf(data: Data | undefined): string | undefined {
  return typeof data?.id === "string" ? data.id : undefined
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Money Stripe holds on an intent now: captured (a bank debit once it settled) and neither
 * refunded nor kept by the cardholder's bank in a lost dispute, or authorized and not released.
 * An open dispute still counts as held: the bank may give it back, and Medusa books it once lost.
 */
export function heldBy(
  intent: Stripe.PaymentIntent,
  charges: Stripe.Charge[],
  disputes: Stripe.Dispute[]
): number {
  const captured = charges
    .filter((c) => c.payment_intent === intent.id && c.captured && c.status === "succeeded")
    .reduce((sum, c) => sum + c.amount_captured - c.amount_refunded, 0)
  const lost = disputes
    .filter((d) => d.payment_intent === intent.id && d.status === "lost")
    .reduce((sum, d) => sum + d.amount, 0)
  const authorized = intent.status === "requires_capture" ? intent.amount_capturable : 0
  return captured - lost + authorized
}

/** Refunds that gave captured money back (not released authorizations, not failed ones). */
export function moneyRefunds(refunds: Stripe.Refund[], charges: Stripe.Charge[]): Stripe.Refund[] {
  const captured = new Set(charges.filter((c) => c.captured).map((c) => c.id))
  return refunds.filter(
    (r) =>
      MONEY_MOVING_REFUND.has(r.status ?? "") &&
      typeof r.charge === "string" &&
      captured.has(r.charge)
  )
}

export interface StepCounts {
  /** Processor calls that returned an error, per operation. */
  errors: Record<string, number>
  calls: Record<string, number>
  /** Reconciliations run, and what they fixed, flagged and left waiting. */
  reconciled: { runs: number; fixed: number; flagged: number; waiting: number }
}

/** Which intent a Stripe event is about, if any. */
function intentOfEvent(event: Stripe.Event): string | undefined {
  const object = event.data.object as unknown as Record<string, unknown>
  if (object.object === "payment_intent" && typeof object.id === "string") return object.id
  return typeof object.payment_intent === "string" ? object.payment_intent : undefined
}

export class Shop {
  readonly log: string[] = []
  private resources: Resource[] = []
  private carts = new Map<string, FakeCart>()
  private modelGaps: string[] = []
  private thrown: string[] = []
  /** Operations Stripe would have accepted that the processor refused. */
  private refused: string[] = []
  /** Payments Medusa booked on an intent that did not hold their amount at that moment. */
  private unheld: string[] = []
  /** Set once Stripe was told to refuse a refund, until a refund came back refused. */
  private refundRefusalPending = false
  private sequence = 0
  private autoCapture = false
  private readonly card: { manual: StripeBase; automatic: StripeBase }
  private readonly ideal: StripeBase
  private readonly sepa: StripeBase
  /** The Stripe dashboard, and the webhook's reconciler with the model's books. */
  private readonly stripe: Stripe
  private readonly reconciler: PaymentIntentReconciler
  /** Events of the emulator the webhook has seen (reconciled their intents). */
  private eventsSeen = 0
  /** Intents whose reconciliation waited for Medusa (a plugin refund in its grace period). */
  private waiting = new Set<string>()
  /** How far the reconciler's clock runs ahead: the settle lets the grace period pass. */
  private clockAhead = 0
  readonly counts: StepCounts = {
    errors: {},
    calls: {},
    reconciled: { runs: 0, fixed: 0, flagged: 0, waiting: 0 },
  }

  constructor(
    private readonly emulator: StripeEmulator,
    private readonly prefix: string
  ) {
    const bookings: PaymentBookings = {
      paymentsOf: async (intentId) => this.bookedOn(intentId),
    }
    const services = {
      stripePaymentBookings: bookings,
      manager: { query: (sql: string, params?: unknown[]) => this.query(sql, params) },
    }
    const options = { timeout: CLIENT_TIMEOUT_MS }
    const build = (
      Processor: new (container: Data, options?: Data) => StripeBase,
      extra: Data = {}
    ) => buildProcessor(Processor, emulator, { ...options, ...extra }, this.carts, services)
    this.card = {
      manual: build(StripeProviderService),
      automatic: build(StripeProviderService, { capture: true }),
    }
    this.ideal = build(IdealProviderService)
    this.sepa = build(SepaDebitProviderService)
    const { host, port, protocol } = emulator.stripeConfig()
    this.stripe = new Stripe(TEST_API_KEY, {
      host,
      port,
      protocol,
      apiVersion: "2024-04-10",
      maxNetworkRetries: 0,
    })
    const logger = { info: () => undefined, warn: () => undefined }
    this.reconciler = new PaymentIntentReconciler({
      stripe: this.stripe,
      books: this.medusaBooks(),
      logger,
      now: () => Date.now() + this.clockAhead,
    })
  }

  /** Starts a new history on a reset emulator. */
  begin(autoCapture: boolean): void {
    this.emulator.reset()
    this.resources = []
    this.carts.clear()
    this.modelGaps = []
    this.thrown = []
    this.refused = []
    this.unheld = []
    this.refundRefusalPending = false
    this.eventsSeen = 0
    this.waiting.clear()
    this.clockAhead = 0
    this.autoCapture = autoCapture
    this.log.length = 0
    this.log.push(`card provider captures ${autoCapture ? "automatically" : "manually"}`)
    this.addCart(FIRST_TOTAL)
  }

  private addCart(total: number): Resource {
    this.sequence += 1
    const id = `cart_${this.prefix}_${this.sequence}`
    const cart: Resource = {
      kind: "cart",
      id,
      total,
      sessions: [],
      completed: false,
      payments: [],
      shown: new Set(),
      disputes: {},
      flags: [],
    }
    this.resources.push(cart)
    this.carts.set(id, { total, currency: "eur" })
    return cart
  }

  hasCart(): boolean {
    return this.resources.some((r) => r.kind === "cart")
  }

  hasResource(): boolean {
    return this.resources.length > 0
  }

  /** Whether Medusa booked a payment (the dashboard, banks and cardholders act on those). */
  hasBooking(): boolean {
    return this.resources.some((r) => r.payments.length > 0)
  }

  // ------------------------------------------------------------------------------------------
  // What Medusa's container answers

  private async bookedOn(intentId: string): Promise<BookedPayment[]> {
    return this.resources.flatMap((resource) =>
      resource.payments
        .filter((p) => !p.canceled && intentIdOf(p.data) === intentId)
        .map((p) => ({
          id: p.id,
          amount: p.amount,
          captured: p.captured,
          cart_id: resource.kind === "cart" ? resource.id : null,
          order_id: p.orderId ?? null,
          swap_id: null,
        }))
    )
  }

  /**
   * The manager in Medusa's container reads committed rows only: sessions a batch is creating
   * are not there yet. Queries the model does not know fail loudly.
   */
  private async query(sql: string, params: unknown[] = []): Promise<unknown> {
    if (/payment_collection_sessions/.test(sql) && /data->>'id'/.test(sql)) {
      const [collectionId, intentId] = params
      const collection = this.resources.find((r) => r.id === collectionId)
      const held = collection?.sessions.some((s) => intentIdOf(s.data) === intentId)
      return held ? [{ "?column?": 1 }] : []
    }
    const gap = `the model does not answer SQL: ${sql.replace(/\s+/g, " ").slice(0, 160)}`
    this.modelGaps.push(gap)
    throw new Error(gap)
  }

  // ------------------------------------------------------------------------------------------
  // Processor calls: every answer is a value; a throw is a finding

  private processorFor(provider: Provider): StripeBase {
    if (provider === "ideal") return this.ideal
    if (provider === "sepa") return this.sepa
    return this.autoCapture ? this.card.automatic : this.card.manual
  }

  private async call<T>(
    operation: string,
    run: () => Promise<T>
  ): Promise<T | PaymentProcessorError> {
    this.counts.calls[operation] = (this.counts.calls[operation] ?? 0) + 1
    let result: T
    try {
      result = await run()
    } catch (error) {
      this.thrown.push(`${operation} threw: ${messageOf(error)}`)
      return { error: messageOf(error), code: "thrown", detail: "" }
    }
    if (isProcessorError(result)) {
      this.counts.errors[operation] = (this.counts.errors[operation] ?? 0) + 1
      const { error, code, detail } = result
      if (typeof error !== "string" || typeof code !== "string" || typeof detail !== "string") {
        this.thrown.push(`${operation} returned a malformed error: ${JSON.stringify(result)}`)
      }
    }
    return result
  }

  private context(resource: Resource, amount: number, data: Data = {}): PaymentProcessorContext {
    return {
      amount,
      currency_code: "eur",
      resource_id: resource.id,
      email: SHOPPER_EMAIL,
      context: {},
      paymentSessionData: data,
    }
  }

  private async initiate(resource: Resource, provider: Provider, amount: number) {
    const result = await this.call("initiatePayment", () =>
      this.processorFor(provider).initiatePayment(this.context(resource, amount))
    )
    if (isProcessorError(result)) return { ok: false as const, note: `error ${result.code}` }
    const session: Session = { provider, data: result.session_data }
    return { ok: true as const, session, note: `-> ${intentIdOf(session.data)}` }
  }

  private async deleteSession(session: Session): Promise<PaymentProcessorError | undefined> {
    const result = await this.call("deletePayment", () =>
      this.processorFor(session.provider).deletePayment(session.data)
    )
    return isProcessorError(result) ? result : undefined
  }

  // ------------------------------------------------------------------------------------------
  // Steps

  private cartAt(index: number): Resource | undefined {
    const carts = this.resources.filter((r) => r.kind === "cart")
    return carts.length > 0 ? carts[index % carts.length] : undefined
  }

  private resourceAt(index: number): Resource | undefined {
    return this.resources.length > 0 ? this.resources[index % this.resources.length] : undefined
  }

  private name(resource: Resource): string {
    return resource.id.replace(`${this.prefix}_`, "")
  }

  /** Runs one step and logs it as one line: what was done and what came back. */
  async apply(step: Step): Promise<void> {
    let line: string
    try {
      line = await this.perform(step)
    } catch (error) {
      line = `${describeStep(step)}: the model failed: ${messageOf(error)}`
      this.modelGaps.push(line)
    }
    const webhook = await this.reconcileEvents()
    this.log.push(webhook ? `${line} | webhook: ${webhook}` : line)
    for (const resource of this.resources) {
      for (const session of [resource.session, ...resource.sessions]) {
        const id = intentIdOf(session?.data)
        if (id) resource.shown.add(id)
      }
    }
  }

  private async perform(step: Step): Promise<string> {
    switch (step.t) {
      case "cart":
        return `new ${this.name(this.addCart(step.total))}, total ${step.total}`
      case "collection":
        return this.payCollection(step.amount, step.provider)
      case "fault":
        this.emulator.faults.failNext(step.count, {
          kind: step.kind,
          when: step.when,
          holdMs: FAULT_HOLD_MS,
        })
        return describeStep(step)
      case "outage":
        this.emulator.faults.failNext(3, { kind: step.kind, when: "before" })
        return describeStep(step)
      case "capture":
      case "refund":
      case "refund-fails":
      case "cancel-order": {
        const resource = this.resourceAt(step.res)
        if (!resource) return `${describeStep(step)}: no resource`
        return `${this.name(resource)}: ${await this.admin(resource, step)}`
      }
      case "dash-capture":
      case "dash-cancel":
      case "dash-refund":
      case "dispute":
      case "dispute-close": {
        // Stripe's dashboard and banks act on payments Medusa booked: the resources with one.
        const booked = this.resources.filter((r) => r.payments.length > 0)
        const resource = booked.length > 0 ? booked[step.res % booked.length] : undefined
        if (!resource) return `${describeStep(step)}: no payment booked`
        return `${this.name(resource)}: ${await this.withoutFaults(() => this.outsideMedusa(resource, step))}`
      }
      default: {
        const cart = this.cartAt(step.cart)
        if (!cart) return `${describeStep(step)}: no cart`
        return `${this.name(cart)}: ${await this.cartStep(cart, step)}`
      }
    }
  }

  private async cartStep(cart: Resource, step: Step): Promise<string> {
    switch (step.t) {
      case "total":
        return this.changeTotal(cart, step.total)
      case "totals": {
        const notes: string[] = []
        for (const total of step.totals) notes.push(await this.changeTotal(cart, total))
        return notes.join("; ")
      }
      case "initiate": {
        if (cart.completed || cart.session || cart.total <= 0)
          return `initiate ${step.provider}: skipped`
        const made = await this.initiate(cart, step.provider, cart.total)
        if (made.ok) {
          cart.session = made.session
          cart.provider = step.provider
        }
        return `initiate ${step.provider} ${made.note}`
      }
      case "update": {
        if (cart.completed || !cart.session) return "update: skipped"
        return `update ${await this.updateSession(cart, cart.total)}`
      }
      case "delete": {
        if (!cart.session) return "delete session: skipped"
        const error = await this.deleteSession(cart.session)
        if (error) return `delete session ${intentIdOf(cart.session.data)} -> error ${error.code}`
        const gone = intentIdOf(cart.session.data)
        cart.session = undefined
        return `delete session ${gone} -> ok`
      }
      case "switch":
      case "refresh": {
        if (cart.completed || !cart.session || cart.total <= 0) return `${step.t}: skipped`
        const provider = step.t === "switch" ? step.provider : cart.session.provider
        if (step.t === "switch" && provider === cart.session.provider)
          return "switch: same provider"
        const old = intentIdOf(cart.session.data)
        const error = await this.deleteSession(cart.session)
        if (error) return `${step.t} to ${provider}: delete ${old} -> error ${error.code}`
        cart.session = undefined
        const made = await this.initiate(cart, provider, cart.total)
        if (made.ok) {
          cart.session = made.session
          cart.provider = provider
        }
        return `${step.t} to ${provider}: deleted ${old}, initiate ${made.note}`
      }
      case "confirm":
        return this.shopperConfirms(cart, step.card)
      case "action": {
        const id = intentIdOf(cart.session?.data)
        if (!id) return "shopper action: no session"
        try {
          await (step.pass ? this.emulator.completeAction(id) : this.emulator.failAction(id))
          return `shopper ${step.pass ? "passes" : "fails"} the action on ${id}`
        } catch (error) {
          return `shopper action on ${id}: refused (${messageOf(error).slice(0, 60)})`
        }
      }
      case "confirm-stale": {
        const current = intentIdOf(cart.session?.data)
        const stale = this.emulator
          .paymentIntents()
          .find(
            (pi) =>
              cart.shown.has(pi.id) &&
              pi.id !== current &&
              (pi.status === "requires_payment_method" || pi.status === "requires_confirmation")
          )
        if (!stale) return "shopper confirms a stale intent: none"
        const ideal = stale.payment_method_types.includes("ideal")
        const sepa = stale.payment_method_types.includes("sepa_debit")
        try {
          await this.emulator.confirmPaymentIntent(stale.id, {
            payment_method: ideal ? "pm_ideal" : sepa ? "pm_sepa_debit" : "pm_card_visa",
            return_url: RETURN_URL,
          })
          if (ideal) await this.emulator.completeAction(stale.id)
          return `shopper pays stale ${stale.id} (${this.emulator.paymentIntent(stale.id)?.status})`
        } catch (error) {
          return `shopper confirms stale ${stale.id}: refused (${messageOf(error).slice(0, 60)})`
        }
      }
      case "complete":
        return this.complete(cart, step.stock)
      case "checkout": {
        // The shopper picks a provider, pays at once and the cart completes (in stock).
        if (cart.completed || cart.total <= 0) return "checkout: skipped"
        const notes: string[] = []
        if (!cart.session) {
          const made = await this.initiate(cart, step.provider, cart.total)
          notes.push(`initiate ${step.provider} ${made.note}`)
          if (!made.ok) return `checkout: ${notes.join(", ")}`
          cart.session = made.session
          cart.provider = step.provider
        }
        notes.push(await this.shopperConfirms(cart, "visa"))
        const id = intentIdOf(cart.session.data)
        if (cart.session.provider === "ideal" && id) {
          try {
            await this.emulator.completeAction(id)
            notes.push(`shopper passes the action on ${id}`)
          } catch (error) {
            notes.push(`shopper action on ${id}: refused (${messageOf(error).slice(0, 60)})`)
          }
        }
        notes.push(await this.complete(cart, true))
        return `checkout: ${notes.join(", ")}`
      }
      case "region": {
        // Medusa's setRegion_ deletes the cart's payment sessions with a repository call: the
        // provider is not told. An intent the shopper already paid keeps its money until the
        // plugin's reconciliation sweep finds it holding money no payment rests on.
        if (cart.completed) return "region: skipped (completed)"
        const dropped = intentIdOf(cart.session?.data)
        const intent = dropped ? this.emulator.paymentIntent(dropped) : undefined
        const held = intent ? heldBy(intent, this.emulator.charges(), this.emulator.disputes()) : 0
        cart.session = undefined
        if (!dropped) return "new region, sessions dropped"
        if (held <= 0) return `new region, sessions dropped (${dropped} unseen by Stripe)`
        let swept: string[] = []
        await this.withoutFaults(async () => {
          swept = await this.reconcile(dropped)
        })
        return `new region, sessions dropped; the sweep finds ${dropped}: ${swept.join("; ") || "nothing to do"}`
      }
      case "bank": {
        const processing = this.emulator
          .paymentIntents()
          .filter((pi) => pi.metadata?.resource_id === cart.id && pi.status === "processing")
        const target = processing[0]
        if (!target) return "bank: nothing processing"
        const settled = await this.emulator.settleProcessing(target.id, { succeed: step.succeed })
        return `the bank ${step.succeed ? "settles" : "rejects"} ${target.id} -> ${settled.status}`
      }
      default:
        throw new Error(`not a cart step: ${step.t}`)
    }
  }

  /** Medusa updates the session first; if that fails, the cart change is refused too. */
  private async changeTotal(cart: Resource, total: number): Promise<string> {
    const payment = cart.payments.find((p) => !p.canceled)
    if (cart.completed || payment) return `total -> ${total}: refused (payment authorized)`
    if (total === cart.total) return `total -> ${total}: unchanged`
    let note = ""
    if (total <= 0 && cart.session) {
      const error = await this.deleteSession(cart.session)
      if (error) return `total -> 0: delete session -> error ${error.code}, refused`
      note = `, deleted session ${intentIdOf(cart.session.data)}`
      cart.session = undefined
    } else if (total > 0 && cart.session) {
      const outcome = await this.updateSession(cart, total)
      if (outcome.startsWith("error")) return `total -> ${total}: update ${outcome}, refused`
      note = `, update ${outcome}`
    } else if (total > 0 && cart.total <= 0 && cart.provider) {
      cart.total = total
      this.carts.set(cart.id, { total, currency: "eur" })
      const made = await this.initiate(cart, cart.provider, total)
      if (made.ok) cart.session = made.session
      return `total -> ${total}, initiate ${cart.provider} ${made.note}`
    }
    cart.total = total
    this.carts.set(cart.id, { total, currency: "eur" })
    return `total -> ${total}${note}`
  }

  private async updateSession(cart: Resource, total: number): Promise<string> {
    const session = cart.session
    if (!session) return "no session"
    const before = intentIdOf(session.data)
    const result = await this.call("updatePayment", () =>
      this.processorFor(session.provider).updatePayment(this.context(cart, total, session.data))
    )
    if (isProcessorError(result)) return `error ${result.code}`
    if (!result) return `${before}: unchanged`
    session.data = result.session_data
    const after = intentIdOf(session.data)
    return `${before}${after !== before ? ` replaced by ${after}` : ""} (amount ${String(session.data.amount)})`
  }

  private async shopperConfirms(cart: Resource, card: TestCard): Promise<string> {
    const session = cart.session
    const id = intentIdOf(session?.data)
    if (!session || !id) return "shopper confirms: no session"
    const method =
      session.provider === "ideal"
        ? { id: "pm_ideal", name: "iDEAL" }
        : session.provider === "sepa"
          ? { id: "pm_sepa_debit", name: "SEPA" }
          : { id: TEST_CARDS[card], name: card }
    try {
      const intent = await this.emulator.confirmPaymentIntent(id, {
        payment_method: method.id,
        return_url: RETURN_URL,
      })
      return `shopper confirms ${id} with ${method.name} -> ${intent.status}`
    } catch (error) {
      return `shopper confirms ${id}: refused (${messageOf(error).slice(0, 60)})`
    }
  }

  /**
   * Cart completion as Medusa 1.20 does it: authorize the session; when authorized, a Payment
   * for the cart total with the data `retrievePayment` returns. Out of stock afterwards cancels
   * that payment (Medusa does not keep the data the cancel returns); a failed cancel leaves the
   * payment and the next completion resumes at the stock check.
   */
  private async complete(cart: Resource, stock: boolean): Promise<string> {
    if (cart.completed) return "complete: already completed"
    let payment = cart.payments.find((p) => !p.canceled)
    let note: string
    if (payment) {
      note = `complete: resumes with ${payment.id}`
    } else {
      const session = cart.session
      if (!session) return "complete: no session"
      const processor = this.processorFor(session.provider)
      const authorized = await this.call("authorizePayment", () =>
        processor.authorizePayment(session.data, { cart_id: cart.id })
      )
      if (isProcessorError(authorized)) return `complete: authorize -> error ${authorized.code}`
      if (authorized.status !== "authorized") {
        session.data = authorized.data
        session.status = authorized.status
        return `complete: authorize -> ${authorized.status}`
      }
      const data = await this.call("retrievePayment", () =>
        processor.retrievePayment(authorized.data)
      )
      if (isProcessorError(data)) return `complete: retrieve -> error ${data.code}`
      session.data = authorized.data
      session.status = authorized.status
      payment = this.book(cart, session.provider, cart.total, data)
      note = `complete: authorized ${intentIdOf(data)}, ${payment.id} of ${cart.total}`
    }
    if (stock) {
      cart.completed = true
      payment.orderId = `order_${cart.id}`
      return `${note}, order placed`
    }
    const booked = payment
    const canceled = await this.call("cancelPayment", () =>
      this.processorFor(booked.provider).cancelPayment(booked.data)
    )
    if (isProcessorError(canceled)) return `${note}, out of stock, cancel -> error ${canceled.code}`
    booked.canceled = true
    return `${note}, out of stock, ${booked.id} canceled`
  }

  private book(resource: Resource, provider: Provider, amount: number, data: Data): Payment {
    // Authorized means Stripe holds the amount now: the reconciler books a refund given back
    // before the payment existed, but the order would still be placed on no money.
    const intent = this.emulator.paymentIntent(intentIdOf(data) ?? "")
    const held = intent ? heldBy(intent, this.emulator.charges(), this.emulator.disputes()) : 0
    if (held < amount) {
      this.unheld.push(
        `${this.name(resource)}: a payment of ${amount} was booked on ${intent?.id ?? "no intent"}, which held ${held}`
      )
    }
    this.sequence += 1
    const payment: Payment = {
      id: `pay_${this.sequence}`,
      resourceId: resource.id,
      provider,
      amount,
      captured: false,
      canceled: false,
      amount_refunded: 0,
      data,
      refunds: [],
    }
    resource.payments.push(payment)
    return payment
  }

  private async admin(resource: Resource, step: Step): Promise<string> {
    if (!resource.completed) return `${describeStep(step)}: no order`
    const live = resource.payments.filter((p) => !p.canceled)
    switch (step.t) {
      case "capture": {
        const payment = live.find((p) => !p.captured)
        if (!payment) return "capture: nothing to capture"
        const result = await this.call("capturePayment", () =>
          this.processorFor(payment.provider).capturePayment(payment.data)
        )
        if (isProcessorError(result)) return `capture ${payment.id} -> error ${result.code}`
        payment.captured = true
        payment.data = result
        return `capture ${payment.id} -> ok`
      }
      case "refund":
      case "refund-fails": {
        const payment = live.find((p) => p.captured && p.amount - p.amount_refunded > 0)
        if (!payment) return "refund: nothing refundable"
        const refundable = payment.amount - payment.amount_refunded
        const amount =
          step.t === "refund" && step.part === "rest" ? refundable : Math.ceil(refundable / 2)
        if (step.t === "refund") {
          return `refund ${amount} on ${payment.id} -> ${await this.refund(payment, amount)}`
        }
        if (step.mode === "lost") {
          // Stripe refunds, then Medusa's transaction rolls back (its database failed): the
          // answer is lost, and the admin asks again for the same refund.
          const lost = await this.call("refundPayment", () =>
            this.processorFor(payment.provider).refundPayment(payment.data, amount)
          )
          const retried = await this.refund(payment, amount)
          const first = isProcessorError(lost) ? `error ${lost.code}` : "rolled back"
          return `refund ${amount} on ${payment.id} -> ${first}, retried -> ${retried}`
        }
        this.emulator.failNextRefund(step.mode)
        this.refundRefusalPending = true
        // The admin sees the refusal and asks again for the same refund.
        const refused = await this.refund(payment, amount)
        const retried = await this.refund(payment, amount)
        return `refund ${amount} on ${payment.id} (Stripe refuses: ${step.mode}) -> ${refused}, retried -> ${retried}`
      }
      case "cancel-order": {
        const payment = live[0]
        if (!payment) return "cancel order: no payment"
        if (resource.payments.some((p) => p.refunds.length > 0)) {
          return "cancel order: refused (the order has refunds)"
        }
        // Medusa cancels every payment of the order in one transaction: one error undoes all.
        for (const each of live) {
          const result = await this.call("cancelPayment", () =>
            this.processorFor(each.provider).cancelPayment(each.data)
          )
          if (isProcessorError(result)) return `cancel order ${each.id} -> error ${result.code}`
        }
        for (const p of live) p.canceled = true
        return `cancel order ${live.map((p) => p.id).join(", ")} -> ok`
      }
      default:
        throw new Error(`not an admin step: ${step.t}`)
    }
  }

  private async refund(payment: Payment, amount: number): Promise<string> {
    const known = new Set(refundsIn(payment.data).map((r) => r.id))
    const stripeAccepts =
      !this.refundRefusalPending &&
      !this.faultsPending() &&
      !this.disputed(intentIdOf(payment.data))
    const result = await this.call("refundPayment", () =>
      this.processorFor(payment.provider).refundPayment(payment.data, amount)
    )
    if (isProcessorError(result)) {
      if (REFUSED_REFUND_CODES.has(result.code ?? "")) this.refundRefusalPending = false
      if (stripeAccepts) {
        this.refused.push(
          `refund of ${amount} on ${payment.id} (refundable ${payment.amount - payment.amount_refunded}) was refused though Stripe accepts it: ${result.code} ${result.error}`
        )
      }
      return `error ${result.code}`
    }
    const added = refundsIn(result).filter((r) => !known.has(r.id))
    payment.data = result
    payment.amount_refunded += amount
    payment.refunds.push({ amount, stripeIds: added.map((r) => r.id) })
    return `ok ${added.map((r) => r.id).join(",") || "(no new Stripe refund)"}`
  }

  private faultsPending(): boolean {
    return this.emulator.faults.describe().pending.length > 0
  }

  /** Whether the cardholder's bank charged the intent back: Stripe then refuses refunds. */
  private disputed(intentId: string | undefined): boolean {
    return this.emulator.disputes().some((d) => d.payment_intent === intentId)
  }

  /**
   * Runs `work` with the faults aimed at the processors' next requests set aside: the dashboard
   * and the webhook's reconciliation are other connections to Stripe.
   */
  private async withoutFaults<T>(work: () => Promise<T>): Promise<T> {
    const pending = this.emulator.faults.describe().pending
    this.emulator.faults.clear()
    try {
      return await work()
    } finally {
      for (const fault of pending) {
        this.emulator.faults.failNext(fault.remaining, {
          ...(fault.route !== undefined ? { route: fault.route } : {}),
          kind: fault.kind,
          when: fault.when,
          holdMs: FAULT_HOLD_MS,
        })
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // What happens at Stripe without Medusa: the dashboard, banks and cardholders

  private async outsideMedusa(resource: Resource, step: Step): Promise<string> {
    const intents = this.emulator
      .paymentIntents()
      .filter((pi) => pi.metadata?.resource_id === resource.id)
    // The merchant works from Medusa's orders: the intents live payments rest on.
    const booked = resource.payments
      .filter((p) => !p.canceled)
      .map((p) => intents.find((pi) => pi.id === intentIdOf(p.data)))
      .filter((pi): pi is Stripe.PaymentIntent => pi !== undefined)
    const charges = this.emulator.charges()
    const disputes = this.emulator.disputes()
    const attempt = async (what: string, work: () => Promise<string>) => {
      try {
        return await work()
      } catch (error) {
        return `${what}: refused (${messageOf(error).slice(0, 80)})`
      }
    }
    switch (step.t) {
      case "dash-capture": {
        const target = booked.find((pi) => pi.status === "requires_capture")
        if (!target) return "dashboard capture: nothing authorized"
        const capturable = target.amount_capturable
        const amount = step.part === "full" ? capturable : Math.ceil(capturable / 2)
        return attempt(`dashboard capture of ${target.id}`, async () => {
          await this.stripe.paymentIntents.capture(target.id, { amount_to_capture: amount })
          return `dashboard captures ${amount} of ${capturable} on ${target.id}`
        })
      }
      case "dash-cancel": {
        const target = booked.find((pi) => pi.status === "requires_capture")
        if (!target) return "dashboard cancel: nothing authorized"
        return attempt(`dashboard cancel of ${target.id}`, async () => {
          await this.stripe.paymentIntents.cancel(target.id)
          return `dashboard cancels the authorization of ${target.amount_capturable} on ${target.id}`
        })
      }
      case "dash-refund": {
        const target = booked.find(
          (pi) => pi.status === "succeeded" && heldBy(pi, charges, disputes) > 0
        )
        if (!target) return "dashboard refund: nothing refundable"
        const held = heldBy(target, charges, disputes)
        const amount = step.part === "half" ? Math.ceil(held / 2) : undefined
        return attempt(`dashboard refund on ${target.id}`, async () => {
          let refund: Stripe.Refund
          try {
            refund = await this.emulator.refundFromDashboard(target.id, amount)
          } catch (error) {
            if (/insufficient/i.test(messageOf(error))) this.refundRefusalPending = false
            throw error
          }
          if (refund.status === "failed") this.refundRefusalPending = false
          return `dashboard refunds ${refund.amount} of ${held} on ${target.id} (${refund.id} ${refund.status})`
        })
      }
      case "dispute": {
        // Any captured payment of the resource, the one Medusa booked first.
        const candidates = [...booked, ...intents.filter((pi) => !booked.includes(pi))]
        const target = candidates.find(
          (pi) =>
            pi.status === "succeeded" && !this.disputed(pi.id) && heldBy(pi, charges, disputes) > 0
        )
        if (!target) return "dispute: nothing disputable"
        return attempt(`dispute on ${target.id}`, async () => {
          const dispute = await this.emulator.createDispute(target.id)
          return `the cardholder disputes ${dispute.amount} on ${target.id} (${dispute.id})`
        })
      }
      case "dispute-close": {
        const ids = new Set(intents.map((pi) => pi.id))
        const open = disputes.find(
          (d) =>
            typeof d.payment_intent === "string" &&
            ids.has(d.payment_intent) &&
            !CLOSED_DISPUTE.has(d.status)
        )
        if (!open) return "dispute close: no open dispute"
        return attempt(`closing ${open.id}`, async () => {
          await this.emulator.closeDispute(open.id, step.outcome)
          return `the bank closes ${open.id} of ${open.amount} on ${String(open.payment_intent)}: ${step.outcome}`
        })
      }
      default:
        throw new Error(`not a step outside Medusa: ${step.t}`)
    }
  }

  // ------------------------------------------------------------------------------------------
  // The webhook: every event of an intent runs the reconciler on it

  /**
   * Reconciles the intents of the events since the last call, as the webhook handler does, and
   * again for the events the reconciliation itself caused. Returns what was fixed or flagged.
   */
  private async reconcileEvents(): Promise<string> {
    const notes: string[] = []
    await this.withoutFaults(async () => {
      for (let round = 0; round < 3; round += 1) {
        const events = this.emulator.events()
        const fresh = events.slice(this.eventsSeen)
        this.eventsSeen = events.length
        const ids = [...new Set(fresh.map(intentOfEvent).filter((id) => id !== undefined))]
        if (ids.length === 0) return
        for (const id of ids) notes.push(...(await this.reconcile(id)))
      }
    })
    return notes.join("; ")
  }

  private async reconcile(intentId: string): Promise<string[]> {
    const tally = this.counts.reconciled
    tally.runs += 1
    try {
      const report = await this.reconciler.call(intentId)
      tally.fixed += report.fixed.length
      tally.flagged += report.flagged.length
      tally.waiting += report.waiting.length
      if (report.waiting.length > 0) this.waiting.add(intentId)
      else this.waiting.delete(intentId)
      return [
        ...report.fixed.map((text) => `${intentId} fixed: ${text}`),
        ...report.flagged.map((text) => `${intentId} flagged: ${text}`),
      ]
    } catch (error) {
      const line = `reconciling ${intentId} threw: ${messageOf(error)}`
      this.thrown.push(line)
      return [line]
    }
  }

  // ------------------------------------------------------------------------------------------
  // Medusa's books as the reconciler reads and changes them (what MedusaTableBooks does on
  // Medusa's tables, done on the model's payments, refunds, orders and sessions)

  private paymentById(id: string): { resource: Resource; payment: Payment } {
    for (const resource of this.resources) {
      const payment = resource.payments.find((p) => p.id === id)
      if (payment) return { resource, payment }
    }
    throw new Error(`the reconciler names payment ${id}, which the model does not have`)
  }

  private ledgerResource(intentId: string, resourceId: string | undefined) {
    const kind: LedgerResource["kind"] | undefined = resourceId?.startsWith("cart_")
      ? "cart"
      : resourceId?.startsWith("paycol_")
        ? "payment_collection"
        : undefined
    if (!resourceId || !kind) return undefined
    const resource = this.resources.find((r) => r.id === resourceId)
    if (!resource) {
      return { id: resourceId, kind, exists: false, settled: false, session_holds_intent: false }
    }
    const sessions = resource.kind === "cart" ? [resource.session] : resource.sessions
    const authorized = resource.payments.reduce((sum, p) => sum + p.amount, 0)
    return {
      id: resourceId,
      kind,
      exists: true,
      // A cart with its order; a collection whose authorized amount reached its amount.
      settled:
        resource.kind === "cart"
          ? resource.completed
          : resource.payments.length > 0 && authorized >= resource.total,
      session_holds_intent: sessions.some((session) => intentIdOf(session?.data) === intentId),
    }
  }

  private medusaBooks(): MedusaBooks {
    const refundRows = (): RefundRow[] =>
      this.resources.flatMap((r) => r.payments.flatMap((p) => p.refunds))
    const bookRow = (booked: LedgerPayment, row: RefundRow, refund?: Stripe.Refund): boolean => {
      const { payment } = this.paymentById(booked.id)
      if (!payment.orderId) return false
      if (refundRows().some((existing) => existing.key === row.key)) return false
      payment.amount_refunded += row.amount
      if (refund) {
        try {
          payment.data = withRefund(parseSessionData(payment.data), refund)
        } catch {
          // Data the plugin cannot read stays as it is; the refund row is what counts.
        }
      }
      payment.refunds.push(row)
      return true
    }
    return {
      read: async (intentId, resourceId): Promise<LedgerView> => {
        const payments = this.resources.flatMap((resource) =>
          resource.payments
            .filter((p) => intentIdOf(p.data) === intentId)
            .map((p): LedgerPayment => ({
              id: p.id,
              amount: p.amount,
              amount_refunded: p.amount_refunded,
              currency_code: "eur",
              captured: p.captured,
              canceled: p.canceled,
              order_id: p.orderId ?? null,
              swap_id: null,
              booked_refunds: [
                ...refundsIn(p.data).map((r) => r.id),
                ...p.refunds
                  .map((row) => row.key)
                  .filter((key): key is string => key !== undefined)
                  .map((key) => key.replace(REFUND_KEY_PREFIX, "").replace(DISPUTE_KEY_PREFIX, "")),
              ],
              noted_disputes: p.orderId ? { ...resource.disputes } : {},
            }))
        )
        return { payments, resource: this.ledgerResource(intentId, resourceId) }
      },
      bookCapture: async (booked, amount) => {
        const { payment } = this.paymentById(booked.id)
        // The data takes the captured status first; Medusa's capture then asks the processor,
        // which makes no call, and keeps the data it returns.
        payment.data = { ...payment.data, status: "succeeded" }
        payment.amount = Math.min(payment.amount, amount)
        const result = await this.processorFor(payment.provider).capturePayment(payment.data)
        if (isProcessorError(result)) {
          throw new Error(
            `Medusa's capture of ${payment.id} failed: ${result.code} ${result.error}`
          )
        }
        payment.captured = true
        payment.data = result
      },
      bookRefund: async (booked, refund) =>
        bookRow(
          booked,
          {
            amount: refund.amount,
            stripeIds: [refund.id],
            key: `${REFUND_KEY_PREFIX}${refund.id}`,
          },
          refund
        ),
      bookLostDispute: async (booked, dispute) =>
        bookRow(booked, {
          amount: dispute.amount,
          stripeIds: [],
          dispute: dispute.id,
          key: `${DISPUTE_KEY_PREFIX}${dispute.id}`,
        }),
      noteRefund: async (booked, refund) => {
        const { payment } = this.paymentById(booked.id)
        if (payment.orderId || refundsIn(payment.data).some((r) => r.id === refund.id)) {
          return false
        }
        payment.data = withRefund(parseSessionData(payment.data), refund)
        return true
      },
      bookRelease: async (booked, reason) => {
        const { resource, payment } = this.paymentById(booked.id)
        payment.canceled = true
        payment.data = { ...payment.data, status: "canceled" }
        if (payment.orderId) resource.flags.push(reason)
      },
      noteDisputes: async (booked, disputes) => {
        const { resource, payment } = this.paymentById(booked.id)
        if (!payment.orderId) return
        for (const dispute of disputes) resource.disputes[dispute.id] = dispute.status
      },
      flag: async (booked, issue) => {
        const { resource, payment } = this.paymentById(booked.id)
        if (payment.orderId && !resource.flags.includes(issue)) resource.flags.push(issue)
      },
    }
  }

  /**
   * A payment collection of two equal sessions: Medusa creates both in one transaction, the
   * shopper pays each, and Medusa authorizes both and books a Payment per authorized session.
   */
  private async payCollection(amount: number, provider: Provider): Promise<string> {
    this.sequence += 1
    const collection: Resource = {
      kind: "collection",
      id: `paycol_${this.prefix}_${this.sequence}`,
      total: amount * 2,
      sessions: [],
      completed: false,
      payments: [],
      shown: new Set(),
      disputes: {},
      flags: [],
    }
    this.resources.push(collection)
    const name = this.name(collection)
    const created: Session[] = []
    for (let i = 0; i < 2; i += 1) {
      const made = await this.initiate(collection, provider, amount)
      if (!made.ok)
        return `${name} of 2 x ${amount} ${provider}: session ${i + 1} ${made.note}, rolled back`
      created.push(made.session)
    }
    collection.sessions = created
    const ids = created.map((s) => intentIdOf(s.data))
    for (const session of created) {
      const id = intentIdOf(session.data) as string
      try {
        await this.emulator.confirmPaymentIntent(id, {
          payment_method: provider === "ideal" ? "pm_ideal" : "pm_card_visa",
          return_url: RETURN_URL,
        })
        if (provider === "ideal") await this.emulator.completeAction(id)
      } catch {
        // The second shopper confirmation of a shared intent is refused; authorization tells.
      }
    }
    const outcomes = await this.authorizeCollection(collection, provider, amount)
    return `${name} of 2 x ${amount} ${provider}: sessions ${ids.join(", ")}; authorized: ${outcomes.join(", ")}`
  }

  /**
   * Medusa authorizes a collection's sessions in one transaction: an error undoes every
   * payment it booked, and the storefront asks again later.
   */
  private async authorizeCollection(
    collection: Resource,
    provider: Provider,
    amount: number
  ): Promise<string[]> {
    const outcomes: string[] = []
    const booked: Payment[] = []
    const processor = this.processorFor(provider)
    for (const session of collection.sessions) {
      const authorized = await this.call("authorizePayment", () =>
        processor.authorizePayment(session.data, {})
      )
      if (isProcessorError(authorized)) {
        outcomes.push(`error ${authorized.code}, rolled back`)
        break
      }
      const data =
        authorized.status === "authorized"
          ? await this.call("retrievePayment", () => processor.retrievePayment(authorized.data))
          : undefined
      if (data && isProcessorError(data)) {
        outcomes.push(`retrieve error ${data.code}, rolled back`)
        break
      }
      session.data = authorized.data
      session.status = authorized.status
      if (!data) {
        outcomes.push(authorized.status)
        continue
      }
      const payment = this.book(collection, provider, amount, data)
      booked.push(payment)
      outcomes.push(payment.id)
    }
    if (outcomes.some((outcome) => outcome.endsWith("rolled back"))) {
      collection.payments = collection.payments.filter((p) => !booked.includes(p))
    }
    collection.completed = collection.payments.length > 0
    for (const payment of collection.payments) payment.orderId ??= `order_${collection.id}`
    return outcomes
  }

  /**
   * The end of a history: what the banks and the webhook would still do. Debits still
   * processing settle (and the webhook reconciles them); a cart whose session's intent holds
   * money, or whose payment waits for stock, is completed.
   */
  async settle(): Promise<void> {
    this.emulator.faults.clear()
    for (const intent of this.emulator.paymentIntents()) {
      if (intent.status !== "processing") continue
      await this.emulator.settleProcessing(intent.id, { succeed: true })
      this.log.push(`settle: the bank settles ${intent.id}`)
    }
    const settled = await this.reconcileEvents()
    if (settled) this.log.push(`settle: webhook: ${settled}`)
    for (const resource of this.resources) {
      if (resource.kind === "collection" && !resource.completed && resource.sessions[0]) {
        const { provider } = resource.sessions[0]
        const outcomes = await this.authorizeCollection(resource, provider, resource.total / 2)
        this.log.push(`settle: ${this.name(resource)}: authorized ${outcomes.join(", ")}`)
        continue
      }
      if (resource.kind !== "cart" || resource.completed) continue
      const waiting = resource.payments.some((p) => !p.canceled)
      const id = intentIdOf(resource.session?.data)
      const intent = id ? this.emulator.paymentIntent(id) : undefined
      const holds = intent
        ? heldBy(intent, this.emulator.charges(), this.emulator.disputes()) > 0
        : false
      if (waiting || holds) {
        this.log.push(`settle: ${this.name(resource)}: ${await this.complete(resource, true)}`)
      }
    }
    const webhook = await this.reconcileEvents()
    if (webhook) this.log.push(`settle: webhook: ${webhook}`)
    // The webhook retries an event that waited; by then the grace period is over.
    this.clockAhead = PLUGIN_REFUND_GRACE_MS + 1000
    const retried = (await Promise.all([...this.waiting].map((id) => this.reconcile(id)))).flat()
    if (retried.length > 0) this.log.push(`settle: webhook retried: ${retried.join("; ")}`)
  }

  // ------------------------------------------------------------------------------------------
  // The invariant

  /**
   * What Stripe holds against what Medusa books. `settled` is the end of a history: money on a
   * session's intent that Medusa has not booked yet is allowed only before it.
   */
  violations(settled: boolean): string[] {
    const found = [...this.thrown, ...this.modelGaps, ...this.refused, ...this.unheld]
    const intents = this.emulator.paymentIntents()
    const charges = this.emulator.charges()
    const disputes = this.emulator.disputes()
    const refunds = moneyRefunds(this.emulator.refunds(), charges)
    const lost = disputes.filter((d) => d.status === "lost")
    for (const resource of this.resources) {
      const name = this.name(resource)
      const mine = intents.filter((pi) => pi.metadata?.resource_id === resource.id)
      const holding = mine
        .map((pi) => ({ pi, held: heldBy(pi, charges, disputes) }))
        .filter((entry) => entry.held !== 0)
      const live = resource.payments.filter((p) => !p.canceled)
      if (resource.kind === "cart" && holding.length > 1) {
        found.push(
          `${name}: ${holding.length} intents hold money (${holding.map((h) => `${h.pi.id} ${h.held}`).join(", ")})`
        )
      }
      for (const { pi, held } of holding) {
        const bookedBy = live.filter((p) => intentIdOf(p.data) === pi.id)
        if (bookedBy.length > 1) {
          found.push(
            `${name}: ${pi.id} holds ${held} and ${bookedBy.length} payments rest on it (${bookedBy.map((p) => p.id).join(", ")})`
          )
        } else if (bookedBy.length === 0) {
          const sessions = resource.kind === "cart" ? [resource.session] : resource.sessions
          const pending =
            !settled &&
            !resource.completed &&
            sessions.some((s) => s && intentIdOf(s.data) === pi.id)
          if (!pending) {
            found.push(
              `${name}: Stripe holds ${held} on ${pi.id} (${pi.status}) that no Medusa payment books`
            )
          }
        }
      }
      let booked = 0
      for (const payment of live) {
        const id = intentIdOf(payment.data)
        const intent = mine.find((pi) => pi.id === id) ?? intents.find((pi) => pi.id === id)
        const expected = payment.captured
          ? payment.amount - payment.amount_refunded
          : payment.amount
        booked += expected
        const held = intent ? heldBy(intent, charges, disputes) : 0
        if (held !== expected) {
          found.push(
            `${name}: ${payment.id} books ${expected}${payment.captured ? ` (captured ${payment.amount}, refunded ${payment.amount_refunded})` : ""} but Stripe holds ${held} on ${id} (${intent?.status})`
          )
        }
        found.push(...this.refundMismatches(name, payment, refunds, lost))
      }
      if (settled) {
        const held = holding.reduce((sum, entry) => sum + entry.held, 0)
        if (held !== booked)
          found.push(`${name}: Stripe holds ${held} in all, Medusa books ${booked}`)
        // Booked by the reconciler, perhaps after the plugin refund grace period.
        for (const payment of resource.payments.filter((p) => p.canceled)) {
          found.push(...this.canceledRefundMismatches(name, payment, refunds))
        }
      }
      const session = resource.kind === "cart" && !resource.completed ? resource.session : undefined
      const sessionIntent = session && mine.find((pi) => pi.id === intentIdOf(session.data))
      if (session && sessionIntent && UPDATABLE.has(sessionIntent.status) && resource.total > 0) {
        const says = session.data.amount
        if (sessionIntent.amount !== resource.total || says !== sessionIntent.amount) {
          found.push(
            `${name}: the session says ${String(says)}, Stripe's ${sessionIntent.id} charges ${sessionIntent.amount}, the cart totals ${resource.total}`
          )
        }
      }
    }
    return [...new Set(found)]
  }

  /**
   * A canceled payment's intent may still be refunded (a canceled order, a completion that ran
   * out of stock): each such refund is in Medusa once, as a Refund row or in a payment's data.
   */
  private canceledRefundMismatches(
    name: string,
    payment: Payment,
    refunds: Stripe.Refund[]
  ): string[] {
    const id = intentIdOf(payment.data)
    const onIntent = this.resources
      .flatMap((resource) => resource.payments)
      .filter((p) => intentIdOf(p.data) === id)
    const known = onIntent.map(
      (p) =>
        new Set([
          ...refundsIn(p.data).map((r) => r.id),
          ...p.refunds.flatMap((row) => row.stripeIds),
        ])
    )
    return refunds
      .filter((refund) => refund.payment_intent === id)
      .map((refund) => ({ refund, times: known.filter((ids) => ids.has(refund.id)).length }))
      .filter(({ times }) => times !== 1)
      .map(
        ({ refund, times }) =>
          `${name}: Stripe refund ${refund.id} of ${refund.amount} on ${id} (canceled ${payment.id}) is in Medusa ${times} times`
      )
  }

  /**
   * Every Stripe refund of a booked intent is one Medusa refund, and back; every lost dispute is
   * one Medusa refund keyed by the dispute, and back.
   */
  private refundMismatches(
    name: string,
    payment: Payment,
    refunds: Stripe.Refund[],
    lost: Stripe.Dispute[]
  ): string[] {
    const found: string[] = []
    const id = intentIdOf(payment.data)
    const atStripe = refunds.filter((r) => r.payment_intent === id)
    const lostHere = lost.filter((d) => d.payment_intent === id)
    const disputeRows = payment.refunds.filter((row) => row.dispute !== undefined)
    for (const dispute of lostHere) {
      const times = disputeRows.filter((row) => row.dispute === dispute.id).length
      if (times !== 1) {
        found.push(
          `${name}: lost dispute ${dispute.id} of ${dispute.amount} on ${id} is in ${payment.id}'s refunds ${times} times`
        )
      }
    }
    for (const row of disputeRows) {
      const dispute = lostHere.find((d) => d.id === row.dispute)
      if (!dispute || dispute.amount !== row.amount) {
        found.push(
          `${name}: a Medusa refund of ${row.amount} on ${payment.id} for dispute ${row.dispute} is ${dispute ? `${dispute.amount} lost at Stripe` : "not a lost dispute at Stripe"}`
        )
      }
    }
    const rows = payment.refunds.flatMap((row) => row.stripeIds)
    for (const refund of atStripe) {
      const times = rows.filter((rid) => rid === refund.id).length
      if (times !== 1) {
        found.push(
          `${name}: Stripe refund ${refund.id} of ${refund.amount} on ${id} is in ${payment.id}'s refunds ${times} times`
        )
      }
    }
    for (const row of payment.refunds) {
      if (row.dispute !== undefined) continue
      if (row.stripeIds.length !== 1) {
        found.push(
          `${name}: a Medusa refund of ${row.amount} on ${payment.id} matches ${row.stripeIds.length} new Stripe refunds`
        )
        continue
      }
      const refund = atStripe.find((r) => r.id === row.stripeIds[0])
      if (!refund || refund.amount !== row.amount) {
        found.push(
          `${name}: a Medusa refund of ${row.amount} on ${payment.id} is ${refund ? `${refund.amount} at Stripe` : "not at Stripe"}`
        )
      }
    }
    return found
  }
}
