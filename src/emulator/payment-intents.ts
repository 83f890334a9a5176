import type Stripe from "stripe"
import type { Charges } from "./charges"
import type { Customers, PaymentMethods } from "./customers"
import { ApiError, docUrl, EmulatorControlError, invalidRequest, resourceMissing } from "./errors"
import {
  createdMatcher,
  paginate,
  search,
  type ListObject,
  type SearchResultObject,
} from "./listing"
import { checkChargeAmount, SUPPORTED_CURRENCIES } from "./money"
import {
  applyMetadata,
  bool,
  clearable,
  clone,
  deepMerge,
  int,
  isRecord,
  record,
  str,
  strings,
  type Params,
} from "./params"
import {
  automaticTypes,
  isKnownType,
  PAYMENT_METHOD_TYPES,
  supportsCurrency,
  type Behaviour,
} from "./payment-methods"
import { randomToken } from "./random"
import { NO_REQUEST, type Core, type PendingAction, type RequestContext } from "./store"
import {
  assertTransition,
  canPerform,
  isUpdatable,
  unexpectedStateMessage,
  type IntentAction,
  type IntentStatus,
} from "./transitions"

const INTENT_SEARCH_FIELDS = [
  "amount",
  "created",
  "currency",
  "customer",
  "metadata",
  "status",
] as const

/** Fields that only change while the intent is still being set up. */
const SETUP_FIELDS = [
  "amount",
  "currency",
  "customer",
  "payment_method",
  "payment_method_types",
  "payment_method_options",
  "payment_method_data",
  "payment_method_configuration",
  "capture_method",
  "setup_future_usage",
  "statement_descriptor",
  "statement_descriptor_suffix",
  "application_fee_amount",
  "shipping",
] as const

const DEFAULT_METHOD_OPTIONS: Readonly<Record<string, Record<string, unknown>>> = {
  card: {
    installments: null,
    mandate_options: null,
    network: null,
    request_three_d_secure: "automatic",
  },
  bancontact: { preferred_language: "en" },
  klarna: { preferred_locale: null },
}

const AUTHENTICATION_FAILURE_MESSAGE =
  "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."

function unexpectedState(
  intent: Stripe.PaymentIntent,
  action: IntentAction,
  field?: string
): ApiError {
  return invalidRequest(unexpectedStateMessage(action, intent.status, field), {
    code: "payment_intent_unexpected_state",
    ...(field ? { param: field } : {}),
    payment_intent: clone(intent),
  })
}

function isOffSession(params: Params): boolean {
  const value = params.off_session
  return value === true || value === "one_off" || value === "recurring"
}

/** PaymentIntents and their lifecycle, including what the shopper and the bank do. */
export class PaymentIntents {
  constructor(
    private readonly core: Core,
    private readonly customers: Customers,
    private readonly methods: PaymentMethods,
    private readonly charges: Charges,
    private readonly onDisputableCharge: (charge: Stripe.Charge) => void
  ) {}

  private get store() {
    return this.core.store
  }

  require(id: string, param = "id"): Stripe.PaymentIntent {
    const intent = this.store.paymentIntents.get(id)
    if (!intent) throw resourceMissing("payment_intent", id, param)
    return intent
  }

  private setStatus(intent: Stripe.PaymentIntent, status: IntentStatus): void {
    assertTransition(intent.status, status)
    intent.status = status
  }

  private checkAmount(amount: number, currency: string): void {
    const problem = checkChargeAmount(amount, currency)
    if (problem) throw invalidRequest(problem.message, { code: problem.code, param: "amount" })
  }

  private currency(params: Params): string | undefined {
    const currency = str(params, "currency")?.toLowerCase()
    if (currency !== undefined && !SUPPORTED_CURRENCIES.has(currency)) {
      throw invalidRequest(
        `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[
          ...SUPPORTED_CURRENCIES,
        ].join(", ")}`,
        { param: "currency" }
      )
    }
    return currency
  }

  private checkTypes(types: string[], currency: string, captureMethod: string): void {
    for (const type of types) {
      if (!isKnownType(type)) {
        throw invalidRequest(
          `The payment method type "${type}" is invalid. Please ensure the provided type is activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and your account is enabled for any preview features that you are trying to use.`,
          { code: "payment_intent_invalid_parameter", param: "payment_method_types" }
        )
      }
      if (!supportsCurrency(type, currency)) {
        throw invalidRequest(
          `The currency provided (${currency}) is invalid for one or more payment method types on this PaymentIntent: ${type} does not support ${currency}.`,
          { code: "payment_intent_invalid_parameter", param: "currency" }
        )
      }
      if (captureMethod === "manual" && !PAYMENT_METHOD_TYPES[type].manualCapture) {
        throw invalidRequest(
          `The provided capture_method (manual) is not supported by the payment method type ${type}. Use capture_method automatic or automatic_async.`,
          { code: "payment_intent_invalid_parameter", param: "capture_method" }
        )
      }
    }
  }

  private methodOptions(
    types: readonly string[],
    current: Record<string, unknown>,
    given: Record<string, unknown> | undefined
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const type of types) {
      const existing = isRecord(current[type])
        ? current[type]
        : (DEFAULT_METHOD_OPTIONS[type] ?? {})
      out[type] = existing
    }
    if (given) {
      for (const [type, value] of Object.entries(given)) {
        if (isRecord(value)) {
          out[type] = deepMerge(isRecord(out[type]) ? out[type] : {}, value)
        }
      }
    }
    return out
  }

  create(params: Params, ctx: RequestContext): Stripe.PaymentIntent {
    const currency = this.currency(params) ?? "usd"
    const amount = int(params, "amount") ?? 0
    this.checkAmount(amount, currency)
    const customer = str(params, "customer")
    if (customer) this.customers.require(customer, "customer")
    const captureMethod = (str(params, "capture_method") ??
      "automatic_async") as Stripe.PaymentIntent.CaptureMethod
    const automatic = record(params, "automatic_payment_methods")
    let types = strings(params, "payment_method_types")
    let automaticMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null = null
    if (types && types.length > 0) {
      if (automatic?.enabled === true) {
        throw invalidRequest(
          "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
          { param: "payment_method_types" }
        )
      }
      this.checkTypes(types, currency, captureMethod)
    } else if (automatic?.enabled === false) {
      types = ["card"]
    } else {
      const allowRedirects = automatic?.allow_redirects === "never" ? "never" : "always"
      automaticMethods = { allow_redirects: allowRedirects, enabled: true }
      types = automaticTypes(currency, captureMethod === "manual").filter(
        (type) => allowRedirects === "always" || PAYMENT_METHOD_TYPES[type].flow === "card"
      )
    }
    const id = this.store.id("pi")
    const intent: Stripe.PaymentIntent = {
      id,
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: int(params, "application_fee_amount") ?? null,
      automatic_payment_methods: automaticMethods,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomToken(25)}`,
      confirmation_method: (str(params, "confirmation_method") ??
        "automatic") as Stripe.PaymentIntent.ConfirmationMethod,
      created: this.store.now(),
      currency,
      customer: customer ?? null,
      description: clearable(params, "description") ?? null,
      invoice: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: applyMetadata({}, params),
      next_action: null,
      on_behalf_of: null,
      payment_method: null,
      payment_method_configuration_details: automaticMethods
        ? { id: "pmc_emulator_default", parent: null }
        : null,
      payment_method_options: this.methodOptions(
        types,
        {},
        record(params, "payment_method_options")
      ) as Stripe.PaymentIntent.PaymentMethodOptions,
      payment_method_types: types,
      processing: null,
      receipt_email: clearable(params, "receipt_email") ?? null,
      review: null,
      setup_future_usage:
        (clearable(params, "setup_future_usage") as Stripe.PaymentIntent.SetupFutureUsage | null) ??
        null,
      shipping: (record(params, "shipping") as Stripe.PaymentIntent.Shipping | undefined) ?? null,
      source: null,
      statement_descriptor: clearable(params, "statement_descriptor") ?? null,
      statement_descriptor_suffix: clearable(params, "statement_descriptor_suffix") ?? null,
      status: "requires_payment_method",
      transfer_data: null,
      transfer_group: clearable(params, "transfer_group") ?? null,
    }
    const paymentMethod = str(params, "payment_method")
    if (paymentMethod) {
      const method = this.methods.forPayment(paymentMethod, intent.customer as string | null)
      intent.payment_method = method.id
      intent.status = "requires_confirmation"
    }
    this.store.paymentIntents.set(id, intent)
    this.core.emit("payment_intent.created", intent, ctx)
    if (bool(params, "confirm")) {
      const confirmParams: Params = { ...params }
      delete confirmParams.payment_method
      delete confirmParams.payment_method_options
      return this.runConfirmation(intent, confirmParams, ctx)
    }
    return intent
  }

  /** Stripe has no event for updates. */
  update(id: string, params: Params): Stripe.PaymentIntent {
    const intent = this.require(id)
    if (!isUpdatable(intent.status)) {
      const field = SETUP_FIELDS.find((key) => params[key] !== undefined)
      if (field) throw unexpectedState(intent, "update", field)
    }
    const currency = this.currency(params) ?? intent.currency
    const amount = int(params, "amount") ?? intent.amount
    if (amount !== intent.amount || currency !== intent.currency) {
      this.checkAmount(amount, currency)
    }
    const types = strings(params, "payment_method_types")
    if (types && types.length > 0) {
      this.checkTypes(types, currency, str(params, "capture_method") ?? intent.capture_method)
      intent.payment_method_types = types
      intent.automatic_payment_methods = null
      intent.payment_method_configuration_details = null
    } else if (currency !== intent.currency) {
      const capture = str(params, "capture_method") ?? intent.capture_method
      if (intent.automatic_payment_methods) {
        intent.payment_method_types = automaticTypes(currency, capture === "manual")
      } else {
        this.checkTypes(intent.payment_method_types, currency, capture)
      }
    }
    let reset = amount !== intent.amount || currency !== intent.currency
    intent.amount = amount
    intent.currency = currency
    const customer = clearable(params, "customer")
    if (customer) {
      this.customers.require(customer, "customer")
      intent.customer = customer
    } else if (customer === null) {
      intent.customer = null
    }
    const captureMethod = str(params, "capture_method")
    if (captureMethod) {
      intent.capture_method = captureMethod as Stripe.PaymentIntent.CaptureMethod
    }
    const paymentMethod = clearable(params, "payment_method")
    if (paymentMethod) {
      const method = this.methods.forPayment(paymentMethod, intent.customer as string | null)
      intent.payment_method = method.id
      reset = true
    } else if (paymentMethod === null) {
      intent.payment_method = null
      reset = true
    }
    intent.payment_method_options = this.methodOptions(
      intent.payment_method_types,
      (intent.payment_method_options ?? {}) as Record<string, unknown>,
      record(params, "payment_method_options")
    ) as Stripe.PaymentIntent.PaymentMethodOptions
    if (params.metadata !== undefined) intent.metadata = applyMetadata(intent.metadata, params)
    const description = clearable(params, "description")
    if (description !== undefined) intent.description = description
    const receiptEmail = clearable(params, "receipt_email")
    if (receiptEmail !== undefined) intent.receipt_email = receiptEmail
    const sfu = clearable(params, "setup_future_usage")
    if (sfu !== undefined)
      intent.setup_future_usage = sfu as Stripe.PaymentIntent.SetupFutureUsage | null
    const suffix = clearable(params, "statement_descriptor_suffix")
    if (suffix !== undefined) intent.statement_descriptor_suffix = suffix
    const descriptor = clearable(params, "statement_descriptor")
    if (descriptor !== undefined) intent.statement_descriptor = descriptor
    const transferGroup = clearable(params, "transfer_group")
    if (transferGroup !== undefined) intent.transfer_group = transferGroup
    if (params.shipping !== undefined) {
      intent.shipping =
        (record(params, "shipping") as Stripe.PaymentIntent.Shipping | undefined) ?? null
    }
    if (reset && isUpdatable(intent.status)) {
      intent.next_action = null
      this.store.pendingActions.delete(intent.id)
      this.setStatus(
        intent,
        intent.payment_method ? "requires_confirmation" : "requires_payment_method"
      )
    }
    return intent
  }

  confirm(id: string, params: Params, ctx: RequestContext): Stripe.PaymentIntent {
    const intent = this.require(id)
    if (!canPerform("confirm", intent.status)) throw unexpectedState(intent, "confirm")
    return this.runConfirmation(intent, params, ctx)
  }

  /**
   * Confirms as the API does: attaches the payment method and follows its behaviour. A decline
   * throws a 402 card error after recording the failed attempt.
   */
  private runConfirmation(
    intent: Stripe.PaymentIntent,
    params: Params,
    ctx: RequestContext
  ): Stripe.PaymentIntent {
    const customer = intent.customer as string | null
    let method: Stripe.PaymentMethod | undefined
    const paymentMethod = str(params, "payment_method")
    const data = record(params, "payment_method_data")
    if (paymentMethod) {
      method = this.methods.forPayment(paymentMethod, customer)
    } else if (data) {
      method = this.methods.fromData(data)
    } else if (typeof intent.payment_method === "string") {
      method = this.store.paymentMethods.get(intent.payment_method)
    }
    if (!method) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        { code: "payment_intent_unexpected_state", payment_intent: clone(intent) }
      )
    }
    const types = strings(params, "payment_method_types")
    if (types && types.length > 0) {
      this.checkTypes(
        types,
        intent.currency,
        str(params, "capture_method") ?? intent.capture_method
      )
      intent.payment_method_types = types
      intent.automatic_payment_methods = null
      intent.payment_method_configuration_details = null
    }
    if (!intent.payment_method_types.includes(method.type)) {
      throw invalidRequest(
        `The PaymentMethod provided (${method.type}) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${intent.payment_method_types.join(", ")}. Alternatively, update the allowed payment_method_types for this PaymentIntent to include "${method.type}".`,
        {
          code: "payment_intent_incompatible_payment_method",
          param: "payment_method",
          payment_intent: clone(intent),
        }
      )
    }
    const captureMethod = str(params, "capture_method")
    if (captureMethod) intent.capture_method = captureMethod as Stripe.PaymentIntent.CaptureMethod
    const receiptEmail = clearable(params, "receipt_email")
    if (receiptEmail !== undefined) intent.receipt_email = receiptEmail
    const sfu = clearable(params, "setup_future_usage")
    if (sfu !== undefined)
      intent.setup_future_usage = sfu as Stripe.PaymentIntent.SetupFutureUsage | null
    if (params.shipping !== undefined) {
      intent.shipping =
        (record(params, "shipping") as Stripe.PaymentIntent.Shipping | undefined) ?? null
    }
    intent.payment_method_options = this.methodOptions(
      intent.payment_method_types,
      (intent.payment_method_options ?? {}) as Record<string, unknown>,
      record(params, "payment_method_options")
    ) as Stripe.PaymentIntent.PaymentMethodOptions
    intent.payment_method = method.id
    intent.last_payment_error = null
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    const returnUrl = str(params, "return_url") ?? null
    const behaviour = this.methods.behaviourOf(method)
    // Off-session payments and error_on_requires_action cannot ask the shopper to authenticate.
    const offSession = isOffSession(params) || bool(params, "error_on_requires_action") === true
    switch (behaviour.kind) {
      case "succeed":
        if (this.challengeRequested(intent) && !offSession) {
          this.requireAction(intent, method, "authenticate", returnUrl, ctx)
        } else {
          this.authorize(intent, method, behaviour, false, ctx)
        }
        break
      case "decline":
        this.decline(intent, method, behaviour, ctx)
        break
      case "authenticate":
        if (offSession) {
          this.decline(
            intent,
            method,
            {
              kind: "decline",
              code: "authentication_required",
              declineCode: "authentication_required",
              message: "Your card was declined. This transaction requires authentication.",
            },
            ctx
          )
        } else {
          this.requireAction(intent, method, "authenticate", returnUrl, ctx)
        }
        break
      case "redirect":
        this.requireAction(intent, method, "redirect", returnUrl, ctx)
        break
      case "blik":
        this.requireAction(intent, method, "blik", returnUrl, ctx)
        break
      case "processing":
        this.startProcessing(intent, method, ctx)
        break
    }
    return intent
  }

  private challengeRequested(intent: Stripe.PaymentIntent): boolean {
    const card = intent.payment_method_options?.card
    const request = card?.request_three_d_secure
    return request === "any" || request === "challenge"
  }

  private captureIsManual(intent: Stripe.PaymentIntent, method: Stripe.PaymentMethod): boolean {
    const options = (intent.payment_method_options ?? {}) as Record<string, unknown>
    const forType = options[method.type]
    if (isRecord(forType) && forType.capture_method === "manual") return true
    return intent.capture_method === "manual" && !!PAYMENT_METHOD_TYPES[method.type]?.manualCapture
  }

  private requireAction(
    intent: Stripe.PaymentIntent,
    method: Stripe.PaymentMethod,
    flow: PendingAction["flow"],
    returnUrl: string | null,
    ctx: RequestContext
  ): void {
    const hosted = `${this.core.baseUrl()}/_emulator/hosted/${intent.id}`
    if (flow === "blik") {
      intent.next_action = { type: "blik_authorize" } as Stripe.PaymentIntent.NextAction
    } else if (flow === "authenticate" && !returnUrl) {
      intent.next_action = {
        type: "use_stripe_sdk",
        use_stripe_sdk: {
          type: "three_d_secure_redirect",
          stripe_js: hosted,
          source: `src_${randomToken(24)}`,
        },
      }
    } else {
      intent.next_action = {
        type: "redirect_to_url",
        redirect_to_url: { return_url: returnUrl, url: hosted },
      }
    }
    this.setStatus(intent, "requires_action")
    this.store.pendingActions.set(intent.id, { flow, paymentMethod: method.id, returnUrl })
    this.core.emit("payment_intent.requires_action", intent, ctx)
  }

  /** A successful authorization: captured now or held for a manual capture. */
  private authorize(
    intent: Stripe.PaymentIntent,
    method: Stripe.PaymentMethod,
    behaviour: Behaviour,
    threeDSecure: boolean,
    ctx: RequestContext
  ): void {
    const manual = this.captureIsManual(intent, method)
    const charge = this.charges.create({
      intent,
      method,
      status: "succeeded",
      captured: !manual,
      threeDSecure,
      ...(behaviour.kind === "succeed" && behaviour.risk ? { risk: behaviour.risk } : {}),
    })
    intent.latest_charge = charge.id
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    this.saveForLater(intent, method, ctx)
    if (manual) {
      this.setStatus(intent, "requires_capture")
      intent.amount_capturable = intent.amount
      this.core.emit("charge.succeeded", charge, ctx)
      this.core.emit("payment_intent.amount_capturable_updated", intent, ctx)
    } else {
      this.setStatus(intent, "succeeded")
      intent.amount_received = intent.amount
      this.core.emit("charge.succeeded", charge, ctx)
      this.core.emit("payment_intent.succeeded", intent, ctx)
      if (behaviour.kind === "succeed" && behaviour.dispute) this.onDisputableCharge(charge)
    }
  }

  private saveForLater(
    intent: Stripe.PaymentIntent,
    method: Stripe.PaymentMethod,
    ctx: RequestContext
  ): void {
    const customer = intent.customer
    if (typeof customer === "string" && intent.setup_future_usage && !method.customer) {
      method.customer = customer
      this.core.emit("payment_method.attached", method, ctx)
    }
  }

  private decline(
    intent: Stripe.PaymentIntent,
    method: Stripe.PaymentMethod,
    decline: Extract<Behaviour, { kind: "decline" }>,
    ctx: RequestContext
  ): never {
    const charge = this.charges.create({
      intent,
      method,
      status: "failed",
      captured: false,
      decline,
    })
    const error: Stripe.PaymentIntent.LastPaymentError = {
      type: "card_error",
      code: decline.code,
      decline_code: decline.declineCode,
      doc_url: docUrl(decline.code),
      message: decline.message,
      charge: charge.id,
      payment_method: clone(method),
    } as Stripe.PaymentIntent.LastPaymentError
    intent.latest_charge = charge.id
    intent.last_payment_error = error
    intent.payment_method = null
    intent.next_action = null
    this.setStatus(intent, "requires_payment_method")
    this.core.emit("charge.failed", charge, ctx)
    this.core.emit("payment_intent.payment_failed", intent, ctx)
    throw new ApiError(402, {
      type: "card_error",
      code: decline.code,
      decline_code: decline.declineCode,
      doc_url: docUrl(decline.code),
      message: decline.message,
      charge: charge.id,
      payment_intent: clone(intent),
      payment_method: clone(method),
    })
  }

  private startProcessing(
    intent: Stripe.PaymentIntent,
    method: Stripe.PaymentMethod,
    ctx: RequestContext
  ): void {
    const charge = this.charges.create({ intent, method, status: "pending", captured: true })
    intent.latest_charge = charge.id
    this.setStatus(intent, "processing")
    this.saveForLater(intent, method, ctx)
    this.core.emit("charge.pending", charge, ctx)
    this.core.emit("payment_intent.processing", intent, ctx)
  }

  capture(id: string, params: Params, ctx: RequestContext): Stripe.PaymentIntent {
    const intent = this.require(id)
    if (!canPerform("capture", intent.status)) throw unexpectedState(intent, "capture")
    const amount = int(params, "amount_to_capture") ?? intent.amount_capturable
    if (amount < 1) {
      throw invalidRequest("This value must be greater than or equal to 1.", {
        code: "parameter_invalid_integer",
        param: "amount_to_capture",
      })
    }
    if (amount > intent.amount_capturable) {
      throw invalidRequest(
        `The amount_to_capture (${amount}) must be less than or equal to the PaymentIntent's amount_capturable (${intent.amount_capturable}).`,
        { code: "amount_too_large", param: "amount_to_capture", payment_intent: clone(intent) }
      )
    }
    if (params.metadata !== undefined) intent.metadata = applyMetadata(intent.metadata, params)
    const suffix = clearable(params, "statement_descriptor_suffix")
    if (suffix !== undefined) intent.statement_descriptor_suffix = suffix
    const fee = int(params, "application_fee_amount")
    if (fee !== undefined) intent.application_fee_amount = fee
    const charge = this.store.charges.get(String(intent.latest_charge))
    if (!charge) throw new Error(`PaymentIntent ${intent.id} has no charge to capture`)
    this.charges.capture(charge, amount)
    intent.amount_received = amount
    intent.amount_capturable = 0
    this.setStatus(intent, "succeeded")
    this.core.emit("charge.captured", charge, ctx)
    this.core.emit("payment_intent.succeeded", intent, ctx)
    const method = charge.payment_method
      ? this.store.paymentMethods.get(charge.payment_method)
      : undefined
    const behaviour = method ? this.methods.behaviourOf(method) : undefined
    if (behaviour?.kind === "succeed" && behaviour.dispute) this.onDisputableCharge(charge)
    return intent
  }

  cancel(id: string, params: Params, ctx: RequestContext): Stripe.PaymentIntent {
    const intent = this.require(id)
    if (!canPerform("cancel", intent.status)) throw unexpectedState(intent, "cancel")
    if (intent.status === "requires_capture" && typeof intent.latest_charge === "string") {
      const charge = this.store.charges.get(intent.latest_charge)
      if (charge) {
        this.charges.release(charge)
        this.core.emit("charge.refunded", charge, ctx)
      }
    }
    intent.canceled_at = this.store.now()
    intent.cancellation_reason =
      (str(params, "cancellation_reason") as Stripe.PaymentIntent.CancellationReason | undefined) ??
      null
    intent.amount_capturable = 0
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    this.setStatus(intent, "canceled")
    this.core.emit("payment_intent.canceled", intent, ctx)
    return intent
  }

  list(params: Params): ListObject<Stripe.PaymentIntent> {
    const customer = str(params, "customer")
    const created = createdMatcher(params)
    const items = [...this.store.paymentIntents.values()].filter(
      (intent) =>
        (customer === undefined || intent.customer === customer) && created(intent.created)
    )
    return paginate(items, params, "/v1/payment_intents")
  }

  search(params: Params): SearchResultObject<Stripe.PaymentIntent> {
    return search(
      [...this.store.paymentIntents.values()],
      params,
      INTENT_SEARCH_FIELDS,
      "/v1/payment_intents/search"
    )
  }

  // -------------------------------------------------------------------------------------------
  // What Stripe.js, the shopper and the bank do

  private requireForControl(id: string): Stripe.PaymentIntent {
    const intent = this.store.paymentIntents.get(id)
    if (!intent) throw new EmulatorControlError(`No such payment_intent: '${id}'`, 404)
    return intent
  }

  /** Confirms as Stripe.js would; a decline leaves the intent in requires_payment_method. */
  confirmAsShopper(id: string, params: Params, ctx: RequestContext): Stripe.PaymentIntent {
    const intent = this.requireForControl(id)
    if (!canPerform("confirm", intent.status)) {
      throw new EmulatorControlError(unexpectedStateMessage("confirm", intent.status))
    }
    try {
      return this.runConfirmation(intent, params, ctx)
    } catch (error) {
      if (error instanceof ApiError && error.status === 402) return intent
      if (error instanceof ApiError) throw new EmulatorControlError(error.message, error.status)
      throw error
    }
  }

  private pendingFor(intent: Stripe.PaymentIntent, action: IntentAction): PendingAction {
    const pending = this.store.pendingActions.get(intent.id)
    if (!canPerform(action, intent.status) || !pending) {
      throw new EmulatorControlError(unexpectedStateMessage(action, intent.status))
    }
    return pending
  }

  /** The shopper passes 3D Secure, returns from the bank redirect, or approves BLIK. */
  completeAction(id: string, ctx: RequestContext = NO_REQUEST): Stripe.PaymentIntent {
    const intent = this.requireForControl(id)
    const pending = this.pendingFor(intent, "complete_action")
    const method = this.store.paymentMethods.get(pending.paymentMethod)
    if (!method) throw new EmulatorControlError(`PaymentMethod ${pending.paymentMethod} is gone`)
    this.authorize(
      intent,
      method,
      this.methods.behaviourOf(method),
      pending.flow === "authenticate" && method.type === "card",
      ctx
    )
    return intent
  }

  /** The shopper fails or abandons 3D Secure / the bank redirect. */
  failAction(id: string, ctx: RequestContext = NO_REQUEST): Stripe.PaymentIntent {
    const intent = this.requireForControl(id)
    const pending = this.pendingFor(intent, "fail_action")
    const method = this.store.paymentMethods.get(pending.paymentMethod)
    intent.last_payment_error = {
      type: "invalid_request_error",
      code: "payment_intent_authentication_failure",
      doc_url: docUrl("payment_intent_authentication_failure"),
      message: AUTHENTICATION_FAILURE_MESSAGE,
      ...(method ? { payment_method: clone(method) } : {}),
    } as Stripe.PaymentIntent.LastPaymentError
    intent.payment_method = null
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    this.setStatus(intent, "requires_payment_method")
    this.core.emit("payment_intent.payment_failed", intent, ctx)
    return intent
  }

  /** The bank settles (or rejects) a processing debit. */
  settle(
    id: string,
    succeed: boolean | undefined,
    ctx: RequestContext = NO_REQUEST
  ): Stripe.PaymentIntent {
    const intent = this.requireForControl(id)
    if (!canPerform("settle", intent.status)) {
      throw new EmulatorControlError(unexpectedStateMessage("settle", intent.status))
    }
    const charge = this.store.charges.get(String(intent.latest_charge))
    if (!charge) throw new EmulatorControlError(`PaymentIntent ${id} has no charge`)
    const method = charge.payment_method
      ? this.store.paymentMethods.get(charge.payment_method)
      : undefined
    const behaviour = method ? this.methods.behaviourOf(method) : undefined
    const outcome =
      succeed ?? (behaviour?.kind === "processing" && behaviour.settles === false ? false : true)
    this.charges.settle(charge, outcome)
    if (outcome) {
      intent.amount_received = intent.amount
      this.setStatus(intent, "succeeded")
      this.core.emit("charge.succeeded", charge, ctx)
      this.core.emit("payment_intent.succeeded", intent, ctx)
    } else {
      intent.last_payment_error = {
        type: "card_error",
        code: charge.failure_code ?? "insufficient_funds",
        doc_url: docUrl(charge.failure_code ?? "insufficient_funds"),
        message: charge.failure_message ?? "The payment failed.",
        charge: charge.id,
        ...(method ? { payment_method: clone(method) } : {}),
      } as Stripe.PaymentIntent.LastPaymentError
      intent.payment_method = null
      this.setStatus(intent, "requires_payment_method")
      this.core.emit("charge.failed", charge, ctx)
      this.core.emit("payment_intent.payment_failed", intent, ctx)
    }
    return intent
  }
}
