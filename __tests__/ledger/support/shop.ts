import type { PaymentProcessorContext, PaymentProcessorError } from "@medusajs/medusa"
import type Stripe from "stripe"
import type { BookedPayment, PaymentBookings } from "../../../src/core/payment-bookings"
import type { RecordedRefund } from "../../../src/core/session-data"
import type { StripeBase } from "../../../src/core/stripe-base"
import type { StripeEmulator } from "../../../src/emulator"
import StripeProviderService from "../../../src/services/stripe-provider"
import IdealProviderService from "../../../src/services/stripe-ideal"
import { buildProcessor, type FakeCart } from "../../support/processor"
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
  /** Medusa's Refund rows, each with the Stripe refund ids the answer added to the data. */
  refunds: { amount: number; stripeIds: string[] }[]
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

/** Money Stripe holds on an intent now: captured and not refunded, or authorized and not released. */
export function heldBy(intent: Stripe.PaymentIntent, charges: Stripe.Charge[]): number {
  const captured = charges
    .filter((c) => c.payment_intent === intent.id && c.captured)
    .reduce((sum, c) => sum + c.amount_captured - c.amount_refunded, 0)
  const authorized = intent.status === "requires_capture" ? intent.amount_capturable : 0
  return captured + authorized
}

/** Refunds that gave captured money back (not released authorizations, not failed ones). */
function moneyRefunds(refunds: Stripe.Refund[], charges: Stripe.Charge[]): Stripe.Refund[] {
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
}

export class Shop {
  readonly log: string[] = []
  private resources: Resource[] = []
  private carts = new Map<string, FakeCart>()
  private modelGaps: string[] = []
  private thrown: string[] = []
  /** Operations Stripe would have accepted that the processor refused. */
  private refused: string[] = []
  /** Set once Stripe was told to refuse a refund, until a refund came back refused. */
  private refundRefusalPending = false
  private sequence = 0
  private autoCapture = false
  private readonly card: { manual: StripeBase; automatic: StripeBase }
  private readonly ideal: StripeBase
  readonly counts: StepCounts = { errors: {}, calls: {} }

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
  }

  /** Starts a new history on a reset emulator. */
  begin(autoCapture: boolean): void {
    this.emulator.reset()
    this.resources = []
    this.carts.clear()
    this.modelGaps = []
    this.thrown = []
    this.refused = []
    this.refundRefusalPending = false
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
          order_id: resource.completed ? `order_${resource.id}` : null,
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
    this.log.push(line)
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
        try {
          await this.emulator.confirmPaymentIntent(stale.id, {
            payment_method: ideal ? "pm_ideal" : "pm_card_visa",
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
    const ideal = session.provider === "ideal"
    try {
      const intent = await this.emulator.confirmPaymentIntent(id, {
        payment_method: ideal ? "pm_ideal" : TEST_CARDS[card],
        return_url: RETURN_URL,
      })
      return `shopper confirms ${id} with ${ideal ? "iDEAL" : card} -> ${intent.status}`
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
        if (step.t === "refund-fails") {
          this.emulator.failNextRefund(step.mode)
          this.refundRefusalPending = true
        }
        if (step.t === "refund") {
          return `refund ${amount} on ${payment.id} -> ${await this.refund(payment, amount)}`
        }
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
    const stripeAccepts = !this.refundRefusalPending && !this.faultsPending()
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
    return outcomes
  }

  /**
   * The end of a history: what the webhook would still do. A cart whose session's intent holds
   * money, or whose payment waits for stock, is completed.
   */
  async settle(): Promise<void> {
    this.emulator.faults.clear()
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
      const holds = intent ? heldBy(intent, this.emulator.charges()) > 0 : false
      if (waiting || holds) {
        this.log.push(`settle: ${this.name(resource)}: ${await this.complete(resource, true)}`)
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // The invariant

  /**
   * What Stripe holds against what Medusa books. `settled` is the end of a history: money on a
   * session's intent that Medusa has not booked yet is allowed only before it.
   */
  violations(settled: boolean): string[] {
    const found = [...this.thrown, ...this.modelGaps, ...this.refused]
    const intents = this.emulator.paymentIntents()
    const charges = this.emulator.charges()
    const refunds = moneyRefunds(this.emulator.refunds(), charges)
    for (const resource of this.resources) {
      const name = this.name(resource)
      const mine = intents.filter((pi) => pi.metadata?.resource_id === resource.id)
      const holding = mine
        .map((pi) => ({ pi, held: heldBy(pi, charges) }))
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
        const held = intent ? heldBy(intent, charges) : 0
        if (held !== expected) {
          found.push(
            `${name}: ${payment.id} books ${expected}${payment.captured ? ` (captured ${payment.amount}, refunded ${payment.amount_refunded})` : ""} but Stripe holds ${held} on ${id} (${intent?.status})`
          )
        }
        found.push(...this.refundMismatches(name, payment, refunds))
      }
      if (settled) {
        const held = holding.reduce((sum, entry) => sum + entry.held, 0)
        if (held !== booked)
          found.push(`${name}: Stripe holds ${held} in all, Medusa books ${booked}`)
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

  /** Every Stripe refund of a booked intent is one Medusa refund or cancel, and back. */
  private refundMismatches(name: string, payment: Payment, refunds: Stripe.Refund[]): string[] {
    const found: string[] = []
    const id = intentIdOf(payment.data)
    const atStripe = refunds.filter((r) => r.payment_intent === id)
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
