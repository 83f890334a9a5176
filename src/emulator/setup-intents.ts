import type Stripe from "stripe"
import type { Customers, PaymentMethods } from "./customers"
import { ApiError, docUrl, EmulatorControlError, invalidRequest, resourceMissing } from "./errors"
import { createdMatcher, paginate, type ListObject } from "./listing"
import { applyMetadata, bool, clearable, clone, record, str, strings, type Params } from "./params"
import { isKnownType } from "./payment-methods"
import { randomToken } from "./random"
import { NO_REQUEST, type Core, type RequestContext } from "./store"

type SetupStatus = Stripe.SetupIntent.Status

const CONFIRMABLE: readonly SetupStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
]

function unexpectedState(
  intent: Stripe.SetupIntent,
  action: "confirm" | "cancel" | "update"
): ApiError {
  const verb = action === "confirm" ? "confirmed" : action === "cancel" ? "canceled" : "updated"
  return invalidRequest(
    `You cannot ${action} this SetupIntent because it has a status of ${intent.status}. Only a SetupIntent with one of the following statuses may be ${verb}: ${CONFIRMABLE.join(", ")}.`,
    { code: "setup_intent_unexpected_state", setup_intent: clone(intent) }
  )
}

/** SetupIntents: saving a payment method for later, cards first. */
export class SetupIntents {
  constructor(
    private readonly core: Core,
    private readonly customers: Customers,
    private readonly methods: PaymentMethods
  ) {}

  private get store() {
    return this.core.store
  }

  require(id: string): Stripe.SetupIntent {
    const intent = this.store.setupIntents.get(id)
    if (!intent) throw resourceMissing("setup_intent", id)
    return intent
  }

  create(params: Params, ctx: RequestContext): Stripe.SetupIntent {
    const customer = str(params, "customer")
    if (customer) this.customers.require(customer, "customer")
    const types = strings(params, "payment_method_types")
    for (const type of types ?? []) {
      if (!isKnownType(type)) {
        throw invalidRequest(`The payment method type "${type}" is invalid.`, {
          param: "payment_method_types",
        })
      }
    }
    const id = this.store.id("seti")
    const intent: Stripe.SetupIntent = {
      id,
      object: "setup_intent",
      application: null,
      automatic_payment_methods:
        types && types.length > 0 ? null : { allow_redirects: "always", enabled: true },
      cancellation_reason: null,
      client_secret: `${id}_secret_${randomToken(32)}`,
      created: this.store.now(),
      customer: customer ?? null,
      description: clearable(params, "description") ?? null,
      flow_directions: null,
      last_setup_error: null,
      latest_attempt: null,
      livemode: false,
      mandate: null,
      metadata: applyMetadata({}, params),
      next_action: null,
      on_behalf_of: null,
      payment_method: null,
      payment_method_configuration_details: null,
      payment_method_options: {
        card: { mandate_options: null, network: null, request_three_d_secure: "automatic" },
      },
      payment_method_types: types && types.length > 0 ? types : ["card"],
      single_use_mandate: null,
      status: "requires_payment_method",
      usage: (str(params, "usage") ?? "off_session") as Stripe.SetupIntent["usage"],
    }
    const paymentMethod = str(params, "payment_method")
    if (paymentMethod) {
      intent.payment_method = this.methods.forPayment(paymentMethod, customer ?? null).id
      intent.status = "requires_confirmation"
    }
    this.store.setupIntents.set(id, intent)
    this.core.emit("setup_intent.created", intent, ctx)
    if (bool(params, "confirm")) {
      return this.runConfirmation(intent, { return_url: params.return_url }, ctx)
    }
    return intent
  }

  update(id: string, params: Params): Stripe.SetupIntent {
    const intent = this.require(id)
    if (params.metadata !== undefined)
      intent.metadata = applyMetadata(intent.metadata ?? {}, params)
    const description = clearable(params, "description")
    if (description !== undefined) intent.description = description
    const touchesSetup = ["customer", "payment_method", "payment_method_types"].some(
      (key) => params[key] !== undefined
    )
    if (touchesSetup && !CONFIRMABLE.includes(intent.status))
      throw unexpectedState(intent, "update")
    const customer = str(params, "customer")
    if (customer) {
      this.customers.require(customer, "customer")
      intent.customer = customer
    }
    const paymentMethod = str(params, "payment_method")
    if (paymentMethod) {
      intent.payment_method = this.methods.forPayment(
        paymentMethod,
        intent.customer as string | null
      ).id
      intent.status = "requires_confirmation"
    }
    return intent
  }

  confirm(id: string, params: Params, ctx: RequestContext): Stripe.SetupIntent {
    const intent = this.require(id)
    if (!CONFIRMABLE.includes(intent.status)) throw unexpectedState(intent, "confirm")
    return this.runConfirmation(intent, params, ctx)
  }

  private runConfirmation(
    intent: Stripe.SetupIntent,
    params: Params,
    ctx: RequestContext
  ): Stripe.SetupIntent {
    const customer = intent.customer as string | null
    const paymentMethod = str(params, "payment_method")
    const data = record(params, "payment_method_data")
    let method: Stripe.PaymentMethod | undefined
    if (paymentMethod) method = this.methods.forPayment(paymentMethod, customer)
    else if (data) method = this.methods.fromData(data)
    else if (typeof intent.payment_method === "string") {
      method = this.store.paymentMethods.get(intent.payment_method)
    }
    if (!method) {
      throw invalidRequest(
        "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.",
        { code: "setup_intent_unexpected_state", setup_intent: clone(intent) }
      )
    }
    intent.payment_method = method.id
    intent.last_setup_error = null
    intent.next_action = null
    const behaviour = this.methods.behaviourOf(method)
    const returnUrl = str(params, "return_url") ?? null
    if (behaviour.kind === "decline") {
      intent.last_setup_error = {
        type: "card_error",
        code: behaviour.code,
        decline_code: behaviour.declineCode,
        doc_url: docUrl(behaviour.code),
        message: behaviour.message,
        payment_method: clone(method),
      } as Stripe.SetupIntent.LastSetupError
      intent.payment_method = null
      intent.status = "requires_payment_method"
      this.core.emit("setup_intent.setup_failed", intent, ctx)
      throw new ApiError(402, {
        type: "card_error",
        code: behaviour.code,
        decline_code: behaviour.declineCode,
        doc_url: docUrl(behaviour.code),
        message: behaviour.message,
        payment_method: clone(method),
        setup_intent: clone(intent),
      })
    }
    if (behaviour.kind === "authenticate" || behaviour.kind === "redirect") {
      const hosted = `${this.core.baseUrl()}/_emulator/hosted/${intent.id}`
      intent.next_action = (
        returnUrl || behaviour.kind === "redirect"
          ? { type: "redirect_to_url", redirect_to_url: { return_url: returnUrl, url: hosted } }
          : {
              type: "use_stripe_sdk",
              use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: hosted },
            }
      ) as Stripe.SetupIntent.NextAction
      intent.status = "requires_action"
      this.store.pendingActions.set(intent.id, {
        flow: behaviour.kind,
        paymentMethod: method.id,
        returnUrl,
      })
      this.core.emit("setup_intent.requires_action", intent, ctx)
      return intent
    }
    this.succeed(intent, method, ctx)
    return intent
  }

  private succeed(
    intent: Stripe.SetupIntent,
    method: Stripe.PaymentMethod,
    ctx: RequestContext
  ): void {
    intent.status = "succeeded"
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    const customer = intent.customer
    if (typeof customer === "string" && !method.customer) {
      method.customer = customer
      this.core.emit("payment_method.attached", method, ctx)
    }
    this.core.emit("setup_intent.succeeded", intent, ctx)
  }

  cancel(id: string, params: Params, ctx: RequestContext): Stripe.SetupIntent {
    const intent = this.require(id)
    if (!CONFIRMABLE.includes(intent.status)) throw unexpectedState(intent, "cancel")
    intent.status = "canceled"
    intent.cancellation_reason =
      (str(params, "cancellation_reason") as Stripe.SetupIntent.CancellationReason | undefined) ??
      null
    intent.next_action = null
    this.store.pendingActions.delete(intent.id)
    this.core.emit("setup_intent.canceled", intent, ctx)
    return intent
  }

  list(params: Params): ListObject<Stripe.SetupIntent> {
    const customer = str(params, "customer")
    const method = str(params, "payment_method")
    const created = createdMatcher(params)
    const items = [...this.store.setupIntents.values()].filter(
      (intent) =>
        (customer === undefined || intent.customer === customer) &&
        (method === undefined || intent.payment_method === method) &&
        created(intent.created)
    )
    return paginate(items, params, "/v1/setup_intents")
  }

  private pending(id: string): { intent: Stripe.SetupIntent; method: Stripe.PaymentMethod } {
    const intent = this.store.setupIntents.get(id)
    if (!intent) throw new EmulatorControlError(`No such setupintent: '${id}'`, 404)
    const pending = this.store.pendingActions.get(id)
    const method = pending ? this.store.paymentMethods.get(pending.paymentMethod) : undefined
    if (intent.status !== "requires_action" || !method) {
      throw new EmulatorControlError(
        `This SetupIntent has a status of ${intent.status}; there is no pending customer action.`
      )
    }
    return { intent, method }
  }

  completeAction(id: string, ctx: RequestContext = NO_REQUEST): Stripe.SetupIntent {
    const { intent, method } = this.pending(id)
    this.succeed(intent, method, ctx)
    return intent
  }

  failAction(id: string, ctx: RequestContext = NO_REQUEST): Stripe.SetupIntent {
    const { intent, method } = this.pending(id)
    intent.last_setup_error = {
      type: "invalid_request_error",
      code: "setup_intent_authentication_failure",
      doc_url: docUrl("setup_intent_authentication_failure"),
      message:
        "The latest attempt to set up the payment method has failed because authentication failed.",
      payment_method: clone(method),
    } as Stripe.SetupIntent.LastSetupError
    intent.payment_method = null
    intent.next_action = null
    intent.status = "requires_payment_method"
    this.store.pendingActions.delete(id)
    this.core.emit("setup_intent.setup_failed", intent, ctx)
    return intent
  }
}
