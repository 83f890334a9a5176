import type Stripe from "stripe"
import { invalidRequest, resourceMissing, ApiError, docUrl } from "./errors"
import {
  createdMatcher,
  paginate,
  search,
  type ListObject,
  type SearchResultObject,
} from "./listing"
import {
  applyMetadata,
  clearable,
  int,
  isRecord,
  record,
  str,
  strings,
  type Params,
} from "./params"
import {
  cardDetails,
  defaultBehaviour,
  isKnownType,
  testCardNumber,
  testIban,
  testPaymentMethod,
  testToken,
  type Behaviour,
  type PaymentMethodTemplate,
} from "./payment-methods"
import { hashToInt, randomToken } from "./random"
import type { Core, RequestContext } from "./store"

const ADDRESS_KEYS = ["city", "country", "line1", "line2", "postal_code", "state"] as const

function address(value: unknown): Stripe.Address {
  const input = isRecord(value) ? value : {}
  const out: Record<string, string | null> = {}
  for (const key of ADDRESS_KEYS) {
    out[key] = typeof input[key] === "string" && input[key] !== "" ? (input[key] as string) : null
  }
  return out as unknown as Stripe.Address
}

function shipping(value: unknown): Stripe.Customer.Shipping | null {
  if (!isRecord(value)) return null
  return {
    address: address(value.address),
    name: typeof value.name === "string" ? value.name : null,
    phone: typeof value.phone === "string" ? value.phone : null,
  } as Stripe.Customer.Shipping
}

export function billingDetails(value: unknown): Stripe.PaymentMethod.BillingDetails {
  const input = isRecord(value) ? value : {}
  const text = (key: string): string | null =>
    typeof input[key] === "string" && input[key] !== "" ? (input[key] as string) : null
  return {
    address: address(input.address),
    email: text("email"),
    name: text("name"),
    phone: text("phone"),
  }
}

const CUSTOMER_SEARCH_FIELDS = ["created", "email", "metadata", "name", "phone"] as const

/** Customers: create, retrieve, update, delete, list, search. */
export class Customers {
  constructor(
    private readonly core: Core,
    private readonly methods: () => PaymentMethods
  ) {}

  private get store() {
    return this.core.store
  }

  create(params: Params, ctx: RequestContext): Stripe.Customer {
    const customer: Stripe.Customer = {
      id: this.store.id("cus"),
      object: "customer",
      address:
        params.address !== undefined && params.address !== "" ? address(params.address) : null,
      balance: int(params, "balance") ?? 0,
      created: this.store.now(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: clearable(params, "description") ?? null,
      discount: null,
      email: clearable(params, "email") ?? null,
      invoice_prefix: randomToken(8).toUpperCase(),
      invoice_settings: {
        custom_fields: null,
        default_payment_method: null,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: applyMetadata({}, params),
      name: clearable(params, "name") ?? null,
      next_invoice_sequence: 1,
      phone: clearable(params, "phone") ?? null,
      preferred_locales: strings(params, "preferred_locales") ?? [],
      shipping: shipping(params.shipping),
      tax_exempt: (str(params, "tax_exempt") as Stripe.Customer.TaxExempt | undefined) ?? "none",
      test_clock: null,
    }
    this.store.customers.set(customer.id, customer)
    const paymentMethod = str(params, "payment_method")
    if (paymentMethod) {
      const attached = this.methods().attach(paymentMethod, customer.id, ctx, "payment_method")
      const settings = record(params, "invoice_settings")
      if (settings?.default_payment_method === paymentMethod) {
        customer.invoice_settings.default_payment_method = attached.id
      }
    } else {
      this.applyInvoiceSettings(customer, params)
    }
    this.core.emit("customer.created", customer, ctx)
    return customer
  }

  private applyInvoiceSettings(customer: Stripe.Customer, params: Params): void {
    const settings = record(params, "invoice_settings")
    if (!settings || !("default_payment_method" in settings)) return
    const value = settings.default_payment_method
    if (value === "" || value === null) {
      customer.invoice_settings.default_payment_method = null
      return
    }
    if (typeof value !== "string") return
    const method = this.store.paymentMethods.get(value)
    if (!method || method.customer !== customer.id) {
      throw invalidRequest(
        `No such PaymentMethod: '${value}'; It's possible this PaymentMethod exists on one of your connected accounts, in which case you should retry this request on that connected account.`,
        { status: 400, code: "resource_missing", param: "invoice_settings[default_payment_method]" }
      )
    }
    customer.invoice_settings.default_payment_method = value
  }

  /** Retrieve: a deleted customer comes back as `{ id, object, deleted: true }`. */
  retrieve(id: string): Stripe.Customer | Stripe.DeletedCustomer {
    const customer = this.store.customers.get(id)
    if (!customer) throw resourceMissing("customer", id)
    return customer
  }

  /** A customer that exists and is not deleted, for use as a parameter. */
  require(id: string, param = "id"): Stripe.Customer {
    const customer = this.store.customers.get(id)
    if (!customer || "deleted" in customer) throw resourceMissing("customer", id, param)
    return customer
  }

  update(id: string, params: Params, ctx: RequestContext): Stripe.Customer {
    const customer = this.require(id)
    const previous: Record<string, unknown> = {}
    const set = <K extends keyof Stripe.Customer>(key: K, value: Stripe.Customer[K]): void => {
      if (customer[key] !== value) {
        previous[key] = customer[key]
        customer[key] = value
      }
    }
    for (const key of ["description", "email", "name", "phone"] as const) {
      const value = clearable(params, key)
      if (value !== undefined) set(key, value)
    }
    if (params.address !== undefined) {
      set("address", params.address === "" ? null : address(params.address))
    }
    if (params.shipping !== undefined) set("shipping", shipping(params.shipping))
    if (params.metadata !== undefined) {
      const metadata = applyMetadata(customer.metadata, params)
      previous.metadata = customer.metadata
      customer.metadata = metadata
    }
    const locales = strings(params, "preferred_locales")
    if (locales) set("preferred_locales", locales)
    const balance = int(params, "balance")
    if (balance !== undefined) set("balance", balance)
    this.applyInvoiceSettings(customer, params)
    this.core.emit("customer.updated", customer, ctx, previous)
    return customer
  }

  delete(id: string, ctx: RequestContext): Stripe.DeletedCustomer {
    const customer = this.require(id)
    const deleted: Stripe.DeletedCustomer = { id, object: "customer", deleted: true }
    this.store.customers.set(id, deleted)
    for (const method of this.store.paymentMethods.values()) {
      if (method.customer === id) method.customer = null
    }
    this.core.emit("customer.deleted", customer, ctx)
    return deleted
  }

  private active(): Stripe.Customer[] {
    return [...this.store.customers.values()].filter(
      (customer): customer is Stripe.Customer => !("deleted" in customer)
    )
  }

  list(params: Params): ListObject<Stripe.Customer> {
    const email = str(params, "email")
    const created = createdMatcher(params)
    const items = this.active().filter(
      (customer) => (email === undefined || customer.email === email) && created(customer.created)
    )
    return paginate(items, params, "/v1/customers")
  }

  search(params: Params): SearchResultObject<Stripe.Customer> {
    return search(this.active(), params, CUSTOMER_SEARCH_FIELDS, "/v1/customers/search")
  }
}

const stableTokens = new Map<string, string>()

function stableToken(seed: string, length: number): string {
  const cached = stableTokens.get(`${seed}/${length}`)
  if (cached) return cached
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
  let out = ""
  for (let i = 0; i < length; i++) {
    out += alphabet[hashToInt(`${seed}:${i}`, 62)]
  }
  if (stableTokens.size < 10_000) stableTokens.set(`${seed}/${length}`, out)
  return out
}

const UNSUPPORTED_TYPE_NOTE =
  "The Stripe emulator supports card, ideal, bancontact, giropay, p24, klarna, blik and sepa_debit."

/** PaymentMethods: the test ids, creation from tokens or details, attach and detach. */
export class PaymentMethods {
  constructor(
    private readonly core: Core,
    private readonly customers: () => Customers
  ) {}

  private get store() {
    return this.core.store
  }

  /** Builds a PaymentMethod object from a template (not stored). */
  private build(
    id: string,
    template: PaymentMethodTemplate,
    params: Params = {}
  ): Stripe.PaymentMethod {
    const method: Stripe.PaymentMethod = {
      id,
      object: "payment_method",
      allow_redisplay: "unspecified",
      billing_details: billingDetails(params.billing_details),
      created: this.store.now(),
      customer: null,
      livemode: false,
      metadata: applyMetadata({}, params),
      type: template.type as Stripe.PaymentMethod.Type,
    }
    if (template.card) {
      method.card = cardDetails(template.card, stableToken(template.id, 16))
    } else {
      Object.assign(method, { [template.type]: { ...(template.details ?? {}) } })
    }
    return method
  }

  private save(method: Stripe.PaymentMethod, behaviour: Behaviour): Stripe.PaymentMethod {
    this.store.paymentMethods.set(method.id, method)
    this.store.behaviours.set(method.id, behaviour)
    return method
  }

  /** A stored copy of a test payment method (what Stripe does when a test id is used). */
  private instantiate(template: PaymentMethodTemplate): Stripe.PaymentMethod {
    return this.save(this.build(this.store.id("pm"), template), template.behaviour)
  }

  retrieve(id: string): Stripe.PaymentMethod {
    const stored = this.store.paymentMethods.get(id)
    if (stored) return stored
    const template = testPaymentMethod(id)
    if (template) return this.build(id, template)
    throw resourceMissing("payment_method", id)
  }

  behaviourOf(method: Stripe.PaymentMethod): Behaviour {
    return this.store.behaviours.get(method.id) ?? defaultBehaviour(method.type)
  }

  /**
   * The PaymentMethod a payment will use: a stored one, or a fresh copy of a test id. One that
   * belongs to another customer is refused.
   */
  forPayment(id: string, customer: string | null, param = "payment_method"): Stripe.PaymentMethod {
    const stored = this.store.paymentMethods.get(id)
    if (stored) {
      if (stored.customer && customer && stored.customer !== customer) {
        throw invalidRequest(
          `The provided PaymentMethod ${id} belongs to a different Customer (${String(stored.customer)}) than the one on this request (${customer}).`,
          { param }
        )
      }
      return stored
    }
    const template = testPaymentMethod(id)
    if (!template) throw resourceMissing("payment_method", id, param)
    return this.instantiate(template)
  }

  /** Template for creation parameters (`type` plus `card`, `sepa_debit`...). */
  private templateFor(
    params: Params,
    paramPrefix = ""
  ): { template: PaymentMethodTemplate; behaviour: Behaviour } {
    const type = str(params, "type") ?? "card"
    if (!isKnownType(type)) {
      throw invalidRequest(
        `The payment method type "${type}" is not supported. ${UNSUPPORTED_TYPE_NOTE}`,
        {
          param: `${paramPrefix}type`,
        }
      )
    }
    if (type === "card") {
      const card = record(params, "card") ?? {}
      let template: PaymentMethodTemplate | undefined
      if (typeof card.token === "string") {
        template = testToken(card.token)
        if (!template) throw resourceMissing("token", card.token, `${paramPrefix}card[token]`)
      } else if (typeof card.number === "string") {
        template = testCardNumber(card.number)
        if (!template) {
          throw new ApiError(402, {
            type: "card_error",
            code: "incorrect_number",
            message: "Your card number is incorrect.",
            param: `${paramPrefix}card[number]`,
            doc_url: docUrl("incorrect_number"),
          })
        }
      } else {
        template = testPaymentMethod("pm_card_visa")
      }
      if (!template) throw invalidRequest("Missing card details", { param: `${paramPrefix}card` })
      return { template, behaviour: template.behaviour }
    }
    const details = record(params, type) ?? {}
    const base: PaymentMethodTemplate = testPaymentMethod(`pm_${type}`) ?? {
      id: `pm_${type}`,
      type,
      details: {},
      behaviour: defaultBehaviour(type),
    }
    let extra: Record<string, unknown> = {}
    let behaviour = base.behaviour
    if (type === "sepa_debit" && typeof details.iban === "string") {
      const iban = testIban(details.iban)
      extra = {
        last4: iban.last4,
        country: iban.country,
        fingerprint: stableToken(details.iban, 16),
      }
      behaviour = { kind: "processing", settles: iban.settles }
    } else if ((type === "ideal" || type === "p24") && typeof details.bank === "string") {
      extra = { bank: details.bank, ...(type === "ideal" ? { bic: null } : {}) }
    }
    return {
      template: { ...base, details: { ...(base.details ?? {}), ...extra } },
      behaviour,
    }
  }

  /** `POST /v1/payment_methods` (Stripe sends no event for it). */
  create(params: Params): Stripe.PaymentMethod {
    const { template, behaviour } = this.templateFor(params)
    const method = this.build(this.store.id("pm"), template, params)
    const card = record(params, "card")
    if (method.card && card) {
      if (typeof card.exp_month === "number") method.card.exp_month = card.exp_month
      if (typeof card.exp_year === "number") method.card.exp_year = card.exp_year
    }
    return this.save(method, behaviour)
  }

  /** From `payment_method_data` on confirm. */
  fromData(data: Record<string, unknown>): Stripe.PaymentMethod {
    const { template, behaviour } = this.templateFor(data, "payment_method_data[")
    return this.save(this.build(this.store.id("pm"), template, data), behaviour)
  }

  update(id: string, params: Params, ctx: RequestContext): Stripe.PaymentMethod {
    const method = this.store.paymentMethods.get(id)
    if (!method) throw resourceMissing("payment_method", id)
    const previous: Record<string, unknown> = {}
    if (params.billing_details !== undefined) {
      previous.billing_details = method.billing_details
      method.billing_details = billingDetails({
        ...method.billing_details,
        ...(record(params, "billing_details") ?? {}),
      })
    }
    if (params.metadata !== undefined) {
      previous.metadata = method.metadata
      method.metadata = applyMetadata(method.metadata ?? {}, params)
    }
    const card = record(params, "card")
    if (card && method.card) {
      if (typeof card.exp_month === "number") method.card.exp_month = card.exp_month
      if (typeof card.exp_year === "number") method.card.exp_year = card.exp_year
    }
    this.core.emit("payment_method.updated", method, ctx, previous)
    return method
  }

  attach(id: string, customerId: string, ctx: RequestContext, param = "id"): Stripe.PaymentMethod {
    this.customers().require(customerId, "customer")
    let method = this.store.paymentMethods.get(id)
    if (!method) {
      const template = testPaymentMethod(id)
      if (!template) throw resourceMissing("payment_method", id, param)
      method = this.instantiate(template)
    }
    if (method.customer) {
      throw invalidRequest(
        "The payment method you provided has already been attached to a customer.",
        {
          param,
        }
      )
    }
    method.customer = customerId
    this.core.emit("payment_method.attached", method, ctx)
    return method
  }

  detach(id: string, ctx: RequestContext): Stripe.PaymentMethod {
    const method = this.store.paymentMethods.get(id)
    if (!method) throw resourceMissing("payment_method", id)
    if (!method.customer) {
      throw invalidRequest(
        "The payment method you provided is not attached to a customer so detachment is impossible."
      )
    }
    method.customer = null
    this.core.emit("payment_method.detached", method, ctx)
    return method
  }

  list(
    params: Params,
    customerId?: string,
    url = "/v1/payment_methods"
  ): ListObject<Stripe.PaymentMethod> {
    const customer = customerId ?? str(params, "customer")
    if (customer) this.customers().require(customer, "customer")
    const type = str(params, "type")
    const items = [...this.store.paymentMethods.values()].filter(
      (method) =>
        (customer === undefined || method.customer === customer) &&
        (type === undefined || method.type === type)
    )
    return paginate(items, params, url)
  }
}
