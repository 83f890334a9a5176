import {
  AbstractPaymentProcessor,
  PaymentSessionStatus,
  type Logger,
  type PaymentProcessorContext,
  type PaymentProcessorError,
  type PaymentProcessorSessionResponse,
} from "@medusajs/medusa"
import type Stripe from "stripe"
import { CUSTOMER_STRIPE_ID_KEY, METADATA_KEYS, REFUND_ORIGIN_PLUGIN } from "../constants"
import { parseOptions, type ResolvedStripeOptions } from "../options"
import { normalizeCurrency, toChargeableStripeAmount, toStripeAmount } from "./amounts"
import { isStripeError, StripeOperationError, StripePluginError, toProcessorError } from "./errors"
import { idempotencyKeys } from "./idempotency"
import type { ProcessorSettings } from "./processor-settings"
import {
  parseSessionData,
  PROTECTED_SESSION_FIELDS,
  toSessionData,
  withRefund,
  type StripeSessionData,
} from "./session-data"
import { isUpdatable, toSessionStatus, type SessionStatus } from "./status-mapping"
import { stripeClientFor } from "./stripe-client"
import { resourceKind } from "./webhook-events"

const MEDUSA_STATUS: Readonly<Record<SessionStatus, PaymentSessionStatus>> = {
  pending: PaymentSessionStatus.PENDING,
  requires_more: PaymentSessionStatus.REQUIRES_MORE,
  authorized: PaymentSessionStatus.AUTHORIZED,
  error: PaymentSessionStatus.ERROR,
  canceled: PaymentSessionStatus.CANCELED,
}

/**
 * During one cart completion Medusa reads the payment three times: it authorizes it, asks for
 * its data to create the Payment, and checks its status before creating the order. An intent
 * that `authorizePayment` found authorized (and verified against the cart) this recently is
 * not read from Stripe again.
 */
const FRESH_SNAPSHOT_MS = 10_000

function isFreshAuthorization(data: StripeSessionData, now: number = Date.now()): boolean {
  return (
    data.synced_at !== undefined &&
    now - data.synced_at < FRESH_SNAPSHOT_MS &&
    toSessionStatus(data) === "authorized"
  )
}

/** The part of Medusa's entity manager the plugin uses to read a payment collection's sessions. */
interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>
}

/** The part of Medusa's cart service the plugin uses to check the amount it is about to accept. */
interface CartTotals {
  retrieveWithTotals(
    cartId: string,
    options?: Record<string, unknown>
  ): Promise<{ total?: number | null; region?: { currency_code: string } | null }>
}

type ProcessorClass = typeof StripeBase

type SessionResponse = PaymentProcessorSessionResponse["session_data"]

interface ResolvedCustomer {
  customer?: string
  updateRequests?: PaymentProcessorSessionResponse["update_requests"]
}

/**
 * Medusa places an order only for a cart with a customer, which it makes from the cart's
 * email; a payment taken before that would hold the shopper's money for a cart that cannot
 * complete. (A payment collection belongs to an order that exists already.)
 */
function requireEmail(context: PaymentProcessorContext): void {
  if (resourceKind(context.resource_id) !== "cart") {
    return
  }
  if (!context.email && !context.customer?.email) {
    throw new StripePluginError(
      "email_required",
      "The cart has no email address",
      "Set the shopper's email on the cart (POST /store/carts/:id with { email }) before creating the payment sessions"
    )
  }
}

function isUnexpectedState(error: unknown): boolean {
  return isStripeError(error) && error.code === "payment_intent_unexpected_state"
}

/**
 * The whole `AbstractPaymentProcessor` contract for Stripe PaymentIntents. Concrete processors
 * only declare an `identifier` and their {@link ProcessorSettings}.
 */
export abstract class StripeBase extends AbstractPaymentProcessor {
  static override identifier = ""
  static settings: ProcessorSettings = { label: "Card", manualCapture: true }

  protected readonly options_: ResolvedStripeOptions
  protected readonly stripe_: Stripe
  private readonly cradle_: Record<string, unknown>

  constructor(container: Record<string, unknown>, options?: Record<string, unknown>) {
    super(container, options)
    this.cradle_ = container
    this.options_ = parseOptions(options)
    this.stripe_ = stripeClientFor(this.options_)
  }

  protected get settings(): ProcessorSettings {
    return (this.constructor as ProcessorClass).settings
  }

  /** The Stripe client, for the admin routes and for merchants extending the plugin. */
  get stripe(): Stripe {
    return this.stripe_
  }

  /** Whether the configured key is a live one (for links into the Stripe dashboard). */
  get livemode(): boolean {
    return /^(sk|rk)_live_/.test(this.options_.apiKey)
  }

  async initiatePayment(
    context: PaymentProcessorContext
  ): Promise<PaymentProcessorError | PaymentProcessorSessionResponse> {
    try {
      const { amount, currency } = this.chargeable(context)
      requireEmail(context)
      const { customer, updateRequests } = await this.resolveCustomer(context)
      const intent = await this.createIntent(context, amount, currency, customer)
      return {
        session_data: toSessionData(intent),
        ...(updateRequests ? { update_requests: updateRequests } : {}),
      }
    } catch (error) {
      return toProcessorError("create the payment", error)
    }
  }

  async updatePayment(
    context: PaymentProcessorContext
  ): Promise<PaymentProcessorError | PaymentProcessorSessionResponse | void> {
    try {
      const data = parseSessionData(context.paymentSessionData)
      const { amount, currency } = this.chargeable(context)
      const { customer, updateRequests } = await this.resolveCustomer(context)
      const sameAmount = amount === data.amount && currency === data.currency
      const sameCustomer = customer === undefined || customer === data.customer
      // An intent the shopper already confirmed is only replaced when what it charges changed.
      if (sameAmount && (sameCustomer || !isUpdatable(data.status))) {
        return updateRequests ? { session_data: data, update_requests: updateRequests } : undefined
      }
      const intent = isUpdatable(data.status)
        ? await this.updateIntent(context, data, { amount, currency, customer })
        : await this.replaceIntent(context, data, amount, currency, customer)
      return {
        session_data: toSessionData(intent, data),
        ...(updateRequests ? { update_requests: updateRequests } : {}),
      }
    } catch (error) {
      return toProcessorError("update the payment", error)
    }
  }

  async authorizePayment(
    paymentSessionData: Record<string, unknown>,
    context: Record<string, unknown>
  ): Promise<PaymentProcessorError | { status: PaymentSessionStatus; data: SessionResponse }> {
    try {
      const data = parseSessionData(paymentSessionData)
      const intent = await this.stripe_.paymentIntents.retrieve(data.id)
      const status = toSessionStatus(intent)
      if (status === "error" && intent.last_payment_error) {
        throw new StripePluginError(
          intent.last_payment_error.decline_code ??
            intent.last_payment_error.code ??
            "payment_failed",
          intent.last_payment_error.message ?? "The payment was declined",
          "Confirm the payment again with another payment method"
        )
      }
      if (status === "authorized") {
        await this.verifyAmount(intent, context)
      }
      return { status: MEDUSA_STATUS[status], data: toSessionData(intent, data) }
    } catch (error) {
      return toProcessorError("authorize the payment", error)
    }
  }

  async getPaymentStatus(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentSessionStatus> {
    try {
      const data = parseSessionData(paymentSessionData)
      if (isFreshAuthorization(data)) {
        return MEDUSA_STATUS.authorized
      }
      const intent = await this.stripe_.paymentIntents.retrieve(data.id)
      return MEDUSA_STATUS[toSessionStatus(intent)]
    } catch (error) {
      throw new StripeOperationError("read the payment status", error)
    }
  }

  async retrievePayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      const data = parseSessionData(paymentSessionData)
      if (isFreshAuthorization(data)) {
        return data
      }
      const intent = await this.stripe_.paymentIntents.retrieve(data.id)
      return toSessionData(intent, data)
    } catch (error) {
      return toProcessorError("retrieve the payment", error)
    }
  }

  async capturePayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      const data = parseSessionData(paymentSessionData)
      if (data.status === "succeeded") {
        // Captured automatically at confirmation; a second capture would only fail.
        return data
      }
      let intent: Stripe.PaymentIntent
      try {
        intent = await this.stripe_.paymentIntents.capture(
          data.id,
          {},
          { idempotencyKey: idempotencyKeys.captureIntent(data.id, data.amount) }
        )
      } catch (error) {
        if (!isUnexpectedState(error)) throw error
        intent = await this.stripe_.paymentIntents.retrieve(data.id)
        if (intent.status !== "succeeded") throw error
      }
      return toSessionData(intent, data)
    } catch (error) {
      return toProcessorError("capture the payment", error)
    }
  }

  async refundPayment(
    paymentSessionData: Record<string, unknown>,
    refundAmount: number
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      const data = parseSessionData(paymentSessionData)
      const amount = toStripeAmount(refundAmount, data.currency)
      if (amount <= 0) {
        throw new StripePluginError("invalid_amount", "A refund must be greater than zero")
      }
      const refund = await this.refund(data, amount, data.amount_refunded ?? 0)
      return withRefund(data, refund)
    } catch (error) {
      return toProcessorError("refund the payment", error)
    }
  }

  async cancelPayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      return await this.cancelOrRefund(parseSessionData(paymentSessionData))
    } catch (error) {
      return toProcessorError("cancel the payment", error)
    }
  }

  async deletePayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      return await this.cancelOrRefund(parseSessionData(paymentSessionData))
    } catch (error) {
      return toProcessorError("delete the payment", error)
    }
  }

  /**
   * Medusa passes its own session id and whatever the storefront posted. Everything in the
   * session data is managed here, so the storefront may not change any of it.
   */
  async updatePaymentData(
    _sessionId: string,
    data: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    const keys = Object.keys(data ?? {})
    if (keys.length === 0) {
      return {}
    }
    const protectedKeys = keys.filter((key) => PROTECTED_SESSION_FIELDS.includes(key))
    return toProcessorError(
      "update the payment session",
      new StripePluginError(
        "session_data_read_only",
        protectedKeys.length > 0
          ? `Fields ${protectedKeys.join(", ")} of a Stripe payment session are set by the backend and cannot be changed`
          : `Unknown payment session fields: ${keys.join(", ")}`,
        "Amounts follow the cart; confirm payment details with Stripe.js using the client_secret"
      )
    )
  }

  /** Converts the context's money, refusing what this processor or Stripe cannot charge. */
  protected chargeable(context: PaymentProcessorContext): { amount: number; currency: string } {
    const { retired, currencies, label } = this.settings
    if (retired) {
      throw new StripePluginError("payment_method_unavailable", retired)
    }
    const currency = normalizeCurrency(context.currency_code)
    if (currencies && !currencies.includes(currency)) {
      throw new StripePluginError(
        "currency_not_supported",
        `${label} accepts ${currencies.map((code) => code.toUpperCase()).join(", ")}, not ${currency.toUpperCase()}`
      )
    }
    return { amount: toChargeableStripeAmount(context.amount, currency), currency }
  }

  /**
   * The shopper's Stripe customer: the one recorded on the Medusa customer, or a new one made
   * once (the idempotency key is the Medusa customer id) and recorded through
   * `update_requests`. Carts without an email get none.
   */
  protected async resolveCustomer(context: PaymentProcessorContext): Promise<ResolvedCustomer> {
    const medusaCustomer = context.customer
    const recorded = medusaCustomer?.metadata?.[CUSTOMER_STRIPE_ID_KEY]
    if (typeof recorded === "string" && recorded.startsWith("cus_")) {
      return { customer: recorded }
    }
    const email = context.email || medusaCustomer?.email
    if (!medusaCustomer?.id || !email) {
      return {}
    }
    const name = [medusaCustomer.first_name, medusaCustomer.last_name].filter(Boolean).join(" ")
    const created = await this.stripe_.customers.create(
      {
        email,
        ...(name ? { name } : {}),
        metadata: { [METADATA_KEYS.medusaCustomerId]: medusaCustomer.id },
      },
      { idempotencyKey: idempotencyKeys.createCustomer(medusaCustomer.id) }
    )
    return {
      customer: created.id,
      updateRequests: { customer_metadata: { [CUSTOMER_STRIPE_ID_KEY]: created.id } },
    }
  }

  protected captureMethod(): Stripe.PaymentIntentCreateParams.CaptureMethod {
    return this.options_.capture || !this.settings.manualCapture ? "automatic" : "manual"
  }

  protected paymentMethodParams(): Pick<
    Stripe.PaymentIntentCreateParams,
    "payment_method_types" | "automatic_payment_methods"
  > {
    const fixed = this.settings.paymentMethodTypes
    if (fixed) {
      return { payment_method_types: [...fixed] }
    }
    if (this.options_.automaticPaymentMethods) {
      return { automatic_payment_methods: { enabled: true } }
    }
    return { payment_method_types: [...this.options_.paymentMethodTypes] }
  }

  protected intentMetadata(context: PaymentProcessorContext): Record<string, string> {
    const resourceId = context.resource_id
    return {
      ...this.options_.metadata,
      [METADATA_KEYS.resourceId]: resourceId,
      ...(resourceId.startsWith("cart_") ? { [METADATA_KEYS.cartId]: resourceId } : {}),
    }
  }

  protected createParams(
    context: PaymentProcessorContext,
    amount: number,
    currency: string,
    customer: string | undefined
  ): Stripe.PaymentIntentCreateParams {
    const { paymentDescription, statementDescriptorSuffix, setupFutureUsage } = this.options_
    return {
      amount,
      currency,
      capture_method: this.captureMethod(),
      metadata: this.intentMetadata(context),
      ...this.paymentMethodParams(),
      ...(customer ? { customer } : {}),
      ...(customer && setupFutureUsage ? { setup_future_usage: setupFutureUsage } : {}),
      ...(paymentDescription ? { description: paymentDescription } : {}),
      ...(statementDescriptorSuffix
        ? { statement_descriptor_suffix: statementDescriptorSuffix }
        : {}),
    }
  }

  /**
   * Creates the intent under a key derived from the resource and parameters, so retries never
   * make a second one. When Stripe replays an earlier answer, the intent is read again: if it
   * was canceled since (the session was deleted and made again), a new intent is made under a
   * key naming the canceled one.
   */
  protected async createIntent(
    context: PaymentProcessorContext,
    amount: number,
    currency: string,
    customer: string | undefined,
    replaces?: string
  ): Promise<Stripe.PaymentIntent> {
    const params = this.createParams(context, amount, currency, customer)
    const key = idempotencyKeys.createIntent(
      `${this.getIdentifier()}:${context.resource_id}`,
      params,
      replaces
    )
    const created = await this.stripe_.paymentIntents.create(params, { idempotencyKey: key })
    if (created.lastResponse?.headers?.["idempotent-replayed"] !== "true") {
      return created
    }
    // A replay shows the intent as it was when first created; what matters is how it is now.
    const current = await this.stripe_.paymentIntents.retrieve(created.id)
    if (
      current.id !== replaces &&
      (current.status === "canceled" || (await this.heldByCollectionSession(context, current.id)))
    ) {
      return this.createIntent(context, amount, currency, customer, current.id)
    }
    return current
  }

  /**
   * Whether a session of the payment collection `context` is for already holds the intent.
   * Medusa creates a collection's new session before it deletes the one it replaces, and
   * deleting that one cancels its intent: the new session must not share it.
   */
  protected async heldByCollectionSession(
    context: PaymentProcessorContext,
    intentId: string
  ): Promise<boolean> {
    if (resourceKind(context.resource_id) !== "payment_collection") {
      return false
    }
    const manager = this.optional<SqlRunner>("manager")
    if (!manager) {
      return false
    }
    const rows = await manager.query(
      `SELECT 1 FROM payment_session s
       JOIN payment_collection_sessions link ON link.payment_session_id = s.id
       WHERE link.payment_collection_id = $1 AND s.data->>'id' = $2
       LIMIT 1`,
      [context.resource_id, intentId]
    )
    return Array.isArray(rows) && rows.length > 0
  }

  protected async updateIntent(
    context: PaymentProcessorContext,
    data: StripeSessionData,
    change: { amount: number; currency: string; customer?: string }
  ): Promise<Stripe.PaymentIntent> {
    const params: Stripe.PaymentIntentUpdateParams = {
      amount: change.amount,
      currency: change.currency,
      ...(change.customer ? { customer: change.customer } : {}),
    }
    try {
      return await this.stripe_.paymentIntents.update(data.id, params, {
        idempotencyKey: idempotencyKeys.updateIntent(data.id, params),
      })
    } catch (error) {
      // The shopper confirmed (or the intent otherwise moved on) since the data was saved.
      if (!isUnexpectedState(error)) throw error
      if (change.amount === data.amount && change.currency === data.currency) {
        // Only the customer changed: what the shopper confirmed stands.
        return this.stripe_.paymentIntents.retrieve(data.id)
      }
      return this.replaceIntent(context, data, change.amount, change.currency, change.customer)
    }
  }

  /** Cancels an intent that can no longer change and makes its successor; never orphans one. */
  protected async replaceIntent(
    context: PaymentProcessorContext,
    data: StripeSessionData,
    amount: number,
    currency: string,
    customer: string | undefined
  ): Promise<Stripe.PaymentIntent> {
    await this.cancelOrRefund(data)
    return this.createIntent(
      context,
      amount,
      currency,
      customer ?? data.customer ?? undefined,
      data.id
    )
  }

  /**
   * Cancels the intent; an intent already canceled is fine, and one that already took the
   * shopper's money is refunded instead, so no canceled order or cart leaves a charge behind.
   */
  protected async cancelOrRefund(data: StripeSessionData): Promise<StripeSessionData> {
    if (data.status === "canceled") {
      return data
    }
    try {
      const intent = await this.stripe_.paymentIntents.cancel(
        data.id,
        {},
        { idempotencyKey: idempotencyKeys.cancelIntent(data.id) }
      )
      return toSessionData(intent, data)
    } catch (error) {
      if (!isUnexpectedState(error)) throw error
    }
    const intent = await this.stripe_.paymentIntents.retrieve(data.id, {
      expand: ["latest_charge"],
    })
    if (intent.status === "canceled") {
      return toSessionData(intent, data)
    }
    if (intent.status !== "succeeded") {
      throw new StripePluginError(
        "payment_intent_unexpected_state",
        `PaymentIntent ${intent.id} is ${intent.status} and cannot be canceled yet`,
        "Stripe settles processing payments within days; the payment.failed or succeeded webhook tells the outcome"
      )
    }
    const charge = intent.latest_charge
    const alreadyRefunded = typeof charge === "object" && charge ? charge.amount_refunded : 0
    const remaining = intent.amount_received - alreadyRefunded
    const current = toSessionData(intent, data)
    if (remaining <= 0) {
      return current
    }
    return withRefund(current, await this.refund(current, remaining, alreadyRefunded))
  }

  protected async refund(
    data: StripeSessionData,
    amount: number,
    refundedBefore: number
  ): Promise<Stripe.Refund> {
    const refund = await this.stripe_.refunds.create(
      {
        payment_intent: data.id,
        amount,
        metadata: { [METADATA_KEYS.refundOrigin]: REFUND_ORIGIN_PLUGIN },
      },
      { idempotencyKey: idempotencyKeys.refund(data.id, amount, refundedBefore) }
    )
    if (refund.status === "failed" || refund.status === "canceled") {
      throw new StripePluginError(
        refund.failure_reason ?? "refund_failed",
        `Stripe could not complete refund ${refund.id} (${refund.failure_reason ?? refund.status})`
      )
    }
    return refund
  }

  /**
   * Refuses to call a payment authorized when Stripe holds a different amount or currency
   * than the cart (or than the intent's own resource), e.g. after tampered session data.
   */
  protected async verifyAmount(
    intent: Stripe.PaymentIntent,
    context: Record<string, unknown>
  ): Promise<void> {
    const cartId = typeof context?.cart_id === "string" ? context.cart_id : undefined
    if (!cartId) {
      return
    }
    const owner = intent.metadata?.[METADATA_KEYS.resourceId]
    if (owner !== cartId) {
      throw new StripePluginError(
        "payment_intent_mismatch",
        `PaymentIntent ${intent.id} does not belong to cart ${cartId}`
      )
    }
    const carts = this.optional<CartTotals>("cartService")
    if (!carts) {
      return
    }
    const cart = await carts.retrieveWithTotals(cartId, { relations: ["region"] })
    const currency = cart.region?.currency_code
    if (!currency || typeof cart.total !== "number") {
      return
    }
    const expected = toStripeAmount(cart.total, currency)
    if (intent.amount !== expected || intent.currency !== normalizeCurrency(currency)) {
      throw new StripePluginError(
        "amount_mismatch",
        `Stripe authorized ${intent.amount} ${intent.currency.toUpperCase()} but the cart totals ${expected} ${currency.toUpperCase()}`,
        "Update the payment session so the intent follows the cart, then confirm again"
      )
    }
  }

  protected get logger(): Logger | undefined {
    return this.optional<Logger>("logger")
  }

  /** Resolves an optional dependency from Medusa's container (it throws for unknown names). */
  protected optional<T>(name: string): T | undefined {
    try {
      return (this.cradle_[name] as T | undefined) ?? undefined
    } catch {
      return undefined
    }
  }
}
