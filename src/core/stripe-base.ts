import {
  AbstractPaymentProcessor,
  type ConfigModule,
  PaymentSessionStatus,
  type Logger,
  type PaymentProcessorContext,
  type PaymentProcessorError,
  type PaymentProcessorSessionResponse,
} from "@medusajs/medusa"
import type Stripe from "stripe"

import { CUSTOMER_STRIPE_ID_KEY, METADATA_KEYS, REFUND_ORIGIN_PLUGIN } from "../constants"
import { parseOptions, type ResolvedStripeOptions } from "../options"
import { poolsFor, type PoolSizes } from "./advisory-lock"
import { normalizeCurrency, toChargeableStripeAmount, toStripeAmount } from "./amounts"
import { isStripeError, StripeOperationError, StripePluginError, toProcessorError } from "./errors"
import { leaveCompletionStart } from "./completion-gate"
import {
  cartTotalInScope,
  readCartTotal,
  type CartTotal,
  type CartTotalsReader,
} from "./cart-totals"
import { assertHolds, HELD_FUNDS_EXPAND } from "./held-funds"
import { idempotencyKeys, newOperationId } from "./idempotency"
import { databasePaymentBookings, PAYMENT_BOOKINGS, type PaymentBookings } from "./payment-bookings"
import { earlierAttemptOf } from "./refund-attempts"
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
    toSessionStatus(data) === "authorized" &&
    !data.amount_refunded
  )
}

type ProcessorClass = typeof StripeBase

type SessionResponse = PaymentProcessorSessionResponse["session_data"]

type UpdateRequests = PaymentProcessorSessionResponse["update_requests"]

interface ResolvedCustomer {
  customer?: string
  /** Read from the Medusa customer (it may no longer exist under the current key). */
  recorded?: boolean
  updateRequests?: UpdateRequests
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

/** Stripe's answer when a request names a customer this API key does not know. */
function isMissingCustomer(error: unknown): boolean {
  return isStripeError(error) && error.code === "resource_missing" && error.param === "customer"
}

function isCustomerId(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("cus_")
}

function withUpdateRequests(
  sessionData: SessionResponse,
  updateRequests: UpdateRequests | undefined
): PaymentProcessorSessionResponse {
  return {
    session_data: sessionData,
    ...(updateRequests ? { update_requests: updateRequests } : {}),
  }
}

/**
 * The whole `AbstractPaymentProcessor` contract for Stripe PaymentIntents. Concrete processors
 * only declare an `identifier` and their {@link ProcessorSettings}.
 *
 * Three rules keep Medusa's books and Stripe's in step, whatever the storefront sends:
 * - an intent counts as authorized only while Stripe holds the amount Medusa is about to book
 *   (`held-funds.ts`);
 * - every Stripe write carries a key naming one operation, never its content
 *   (`idempotency.ts`);
 * - money a Medusa Payment rests on moves only through that payment's capture, refund or
 *   cancel: deleting or replacing a session never touches it (`payment-bookings.ts`).
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
      const { result: intent, updateRequests } = await this.withCustomer(context, (customer) =>
        this.createIntent(context, amount, currency, customer)
      )
      return withUpdateRequests(toSessionData(intent), updateRequests)
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
      const { result, updateRequests } = await this.withCustomer(context, async (customer) => {
        const sameAmount = amount === data.amount && currency === data.currency
        const sameCustomer = customer === undefined || customer === data.customer
        // An intent the shopper already confirmed is only replaced when what it charges changed.
        if (sameAmount && (sameCustomer || !isUpdatable(data.status))) {
          return undefined
        }
        return isUpdatable(data.status)
          ? this.updateIntent(context, data, { amount, currency, customer })
          : this.replaceIntent(context, data, amount, currency, customer)
      })
      if (!result) {
        return updateRequests ? withUpdateRequests(data, updateRequests) : undefined
      }
      return withUpdateRequests(toSessionData(result, data), updateRequests)
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
      // A store completion waits for Stripe from here: the next one may start its work.
      leaveCompletionStart()
      const intent = await this.stripe_.paymentIntents.retrieve(data.id, {
        expand: HELD_FUNDS_EXPAND,
      })
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
        await this.verifyHeld(intent, data, context)
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
      const intent = await this.stripe_.paymentIntents.retrieve(data.id, {
        expand: HELD_FUNDS_EXPAND,
      })
      const status = toSessionStatus(intent)
      if (status === "authorized") {
        // Authorized only while Stripe still holds what the session (or payment) records.
        try {
          assertHolds(intent, data, "the payment")
        } catch {
          return MEDUSA_STATUS.error
        }
      }
      return MEDUSA_STATUS[status]
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
      if (data.status === "canceled") {
        throw new StripePluginError(
          "payment_released",
          `The authorization of ${data.id} was canceled or expired at Stripe; there is nothing to capture`,
          "Ask the shopper to pay again, or cancel the order"
        )
      }
      let intent: Stripe.PaymentIntent
      try {
        intent = await this.stripe_.paymentIntents.capture(
          data.id,
          {},
          { idempotencyKey: idempotencyKeys.captureIntent(data.id, newOperationId()) }
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
      return withRefund(data, await this.refund(data, amount))
    } catch (error) {
      return toProcessorError("refund the payment", error)
    }
  }

  /** Medusa cancels a Payment (order canceled, completion failed): its money goes back. */
  async cancelPayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      return await this.cancelOrRefund(parseSessionData(paymentSessionData))
    } catch (error) {
      return toProcessorError("cancel the payment", error)
    }
  }

  /**
   * Medusa deletes a session (the storefront deleted, refreshed or switched it, or the cart
   * moved region). An intent no Medusa Payment rests on is canceled, or refunded when it took
   * the shopper's money; one a Payment rests on is refused, unchanged.
   */
  async deletePayment(
    paymentSessionData: Record<string, unknown>
  ): Promise<PaymentProcessorError | SessionResponse> {
    try {
      const data = parseSessionData(paymentSessionData)
      await this.assertNotBooked(data.id, "deleted with its payment session")
      return await this.cancelOrRefund(data)
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

  /** Metadata key holding the Stripe customer of the current key's mode (test or live). */
  protected get customerModeKey(): string {
    return `${CUSTOMER_STRIPE_ID_KEY}_${this.livemode ? "live" : "test"}`
  }

  /**
   * Runs `work` with the shopper's Stripe customer. A customer recorded on the Medusa customer
   * that the current key does not know (keys switched between test and live or to another
   * account, or the customer deleted in the dashboard) is replaced by a new one, recorded, and
   * the work runs again with it: a stale id must not block the shopper's checkouts for good.
   */
  protected async withCustomer<T>(
    context: PaymentProcessorContext,
    work: (customer: string | undefined) => Promise<T>
  ): Promise<{ result: T; updateRequests?: UpdateRequests }> {
    const resolved = await this.resolveCustomer(context)
    try {
      return { result: await work(resolved.customer), updateRequests: resolved.updateRequests }
    } catch (error) {
      if (!resolved.recorded || !isMissingCustomer(error)) throw error
      this.logger?.warn(
        `medusa-stripe-payments: Stripe customer ${resolved.customer} recorded on Medusa customer ${context.customer?.id} does not exist under the configured API key; a new Stripe customer replaces it`
      )
      const replacement = await this.createCustomer(context, resolved.customer)
      return {
        result: await work(replacement.customer),
        updateRequests: replacement.updateRequests,
      }
    }
  }

  /**
   * The shopper's Stripe customer: the one recorded on the Medusa customer for the key's mode
   * (or, as the official plugin records it, under `stripe_id`), or a new one. Carts without a
   * Medusa customer get none.
   */
  protected async resolveCustomer(context: PaymentProcessorContext): Promise<ResolvedCustomer> {
    const metadata = context.customer?.metadata ?? {}
    const recorded = [metadata[this.customerModeKey], metadata[CUSTOMER_STRIPE_ID_KEY]].find(
      isCustomerId
    )
    if (recorded) {
      return { customer: recorded, recorded: true }
    }
    return this.createCustomer(context)
  }

  /** Makes the Stripe customer of the Medusa customer, recorded through `update_requests`. */
  protected async createCustomer(
    context: PaymentProcessorContext,
    replaces?: string
  ): Promise<ResolvedCustomer> {
    const medusaCustomer = context.customer
    const email = context.email || medusaCustomer?.email
    if (!medusaCustomer?.id || !email) {
      return {}
    }
    const name = [medusaCustomer.first_name, medusaCustomer.last_name].filter(Boolean).join(" ")
    const params: Stripe.CustomerCreateParams = {
      email,
      ...(name ? { name } : {}),
      metadata: { [METADATA_KEYS.medusaCustomerId]: medusaCustomer.id },
    }
    const created = await this.stripe_.customers.create(params, {
      idempotencyKey: idempotencyKeys.createCustomer(medusaCustomer.id, params, replaces),
    })
    return {
      customer: created.id,
      updateRequests: {
        customer_metadata: {
          [CUSTOMER_STRIPE_ID_KEY]: created.id,
          [this.customerModeKey]: created.id,
        },
      },
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
   * A new intent for a new session, never an earlier one: an earlier intent may hold money that
   * moved since (captured, refunded, canceled) or belong to another session or payment.
   */
  protected async createIntent(
    context: PaymentProcessorContext,
    amount: number,
    currency: string,
    customer: string | undefined
  ): Promise<Stripe.PaymentIntent> {
    return this.stripe_.paymentIntents.create(
      this.createParams(context, amount, currency, customer),
      {
        idempotencyKey: idempotencyKeys.createIntent(
          this.getIdentifier(),
          context.resource_id,
          newOperationId()
        ),
      }
    )
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
        idempotencyKey: idempotencyKeys.updateIntent(data.id, newOperationId()),
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

  /**
   * Gives the session a new intent for a new amount, canceling (or refunding) the one it held;
   * refused, unchanged, when a Medusa Payment rests on that one.
   */
  protected async replaceIntent(
    context: PaymentProcessorContext,
    data: StripeSessionData,
    amount: number,
    currency: string,
    customer: string | undefined
  ): Promise<Stripe.PaymentIntent> {
    await this.assertNotBooked(data.id, "replaced for a new amount")
    await this.cancelOrRefund(data)
    return this.createIntent(context, amount, currency, customer ?? data.customer ?? undefined)
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
        { idempotencyKey: idempotencyKeys.cancelIntent(data.id, newOperationId()) }
      )
      return toSessionData(intent, data)
    } catch (error) {
      if (!isUnexpectedState(error)) throw error
    }
    const intent = await this.stripe_.paymentIntents.retrieve(data.id, {
      expand: HELD_FUNDS_EXPAND,
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
    return withRefund(current, await this.refund(current, remaining))
  }

  /**
   * Refunds `amount` under a key of its own, unless an earlier attempt of the plugin whose
   * answer never reached Medusa's books already did (see `refund-attempts.ts`).
   */
  protected async refund(data: StripeSessionData, amount: number): Promise<Stripe.Refund> {
    const made = await this.stripe_.refunds.list({ payment_intent: data.id, limit: 100 })
    const earlier = earlierAttemptOf(made.data, data, amount)
    if (earlier) {
      this.logger?.info(
        `medusa-stripe-payments: refund ${earlier.id} of ${data.id} was made by an earlier attempt that Medusa did not record; recorded now instead of refunding again`
      )
      return earlier
    }
    const refund = await this.stripe_.refunds.create(
      {
        payment_intent: data.id,
        amount,
        metadata: { [METADATA_KEYS.refundOrigin]: REFUND_ORIGIN_PLUGIN },
      },
      { idempotencyKey: idempotencyKeys.refund(data.id, newOperationId()) }
    )
    if (refund.status === "failed" || refund.status === "canceled") {
      throw new StripePluginError(
        refund.failure_reason ?? "refund_failed",
        `Stripe could not complete refund ${refund.id} (${refund.failure_reason ?? refund.status})`
      )
    }
    return refund
  }

  /** Refuses a session operation on an intent a Medusa Payment rests on. */
  protected async assertNotBooked(paymentIntentId: string, action: string): Promise<void> {
    const booked = (await this.bookings()?.paymentsOf(paymentIntentId)) ?? []
    const payment = booked[0]
    if (!payment) {
      return
    }
    const owner = payment.order_id
      ? `order ${payment.order_id}`
      : payment.swap_id
        ? `swap ${payment.swap_id}`
        : payment.cart_id
          ? `cart ${payment.cart_id}`
          : "a payment collection"
    throw new StripePluginError(
      "payment_booked",
      `PaymentIntent ${paymentIntentId} holds Medusa payment ${payment.id} of ${owner}; it cannot be ${action}`,
      "Capture, refund or cancel the payment through the order in the Medusa admin"
    )
  }

  /**
   * Refuses to call a payment authorized unless Stripe holds exactly what Medusa will book:
   * the cart's total for a cart (read fresh, since the cart may have changed after its session
   * was last updated), the session's amount for a payment collection.
   */
  protected async verifyHeld(
    intent: Stripe.PaymentIntent,
    data: StripeSessionData,
    context: Record<string, unknown>
  ): Promise<void> {
    const cartId = typeof context?.cart_id === "string" ? context.cart_id : undefined
    if (!cartId) {
      assertHolds(intent, data, "the payment session")
      return
    }
    const owner = intent.metadata?.[METADATA_KEYS.resourceId]
    if (owner !== cartId) {
      throw new StripePluginError(
        "payment_intent_mismatch",
        `PaymentIntent ${intent.id} does not belong to cart ${cartId}`
      )
    }
    const cart = cartTotalInScope(cartId) ?? (await this.readCartTotalOutsideCompletion(cartId))
    if (!cart) {
      assertHolds(intent, data, "the payment session")
      return
    }
    assertHolds(
      intent,
      {
        amount: toStripeAmount(cart.total, cart.currency),
        currency: normalizeCurrency(cart.currency),
      },
      `the total of cart ${cartId}`
    )
  }

  /**
   * The store's completion route and the webhook read the cart's total before Medusa's
   * transaction starts (`cart-totals.ts`). Any other caller (a merchant's own code completing a
   * cart) has the total read here, through Medusa's cart service.
   */
  protected async readCartTotalOutsideCompletion(cartId: string): Promise<CartTotal | undefined> {
    const carts = this.optional<CartTotalsReader>("cartService")
    return carts ? readCartTotal(carts, cartId) : undefined
  }

  protected get poolSizes(): PoolSizes {
    return { locks: this.options_.lockPoolSize, queries: this.options_.queryPoolSize }
  }

  /** Medusa's payments, read on the plugin's own pool (or a model of them, in tests). */
  protected bookings(): PaymentBookings | undefined {
    const registered = this.optional<PaymentBookings>(PAYMENT_BOOKINGS)
    if (registered) {
      return registered
    }
    const configModule = this.optional<ConfigModule>("configModule")
    return configModule?.projectConfig?.database_url
      ? databasePaymentBookings(poolsFor(configModule, this.poolSizes).queries)
      : undefined
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
