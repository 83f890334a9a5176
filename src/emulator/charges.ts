import type Stripe from "stripe"
import { resourceMissing } from "./errors"
import {
  createdMatcher,
  paginate,
  search,
  type ListObject,
  type SearchResultObject,
} from "./listing"
import { str, type Params } from "./params"
import { hashToInt, randomToken } from "./random"
import type { Core } from "./store"

export interface ChargeDecline {
  code: string
  declineCode: string
  message: string
  blocked?: boolean
}

export interface ChargeInput {
  intent: Stripe.PaymentIntent
  method: Stripe.PaymentMethod
  status: "succeeded" | "failed" | "pending"
  captured: boolean
  decline?: ChargeDecline
  threeDSecure?: boolean
  risk?: "normal" | "elevated"
}

const SECONDS_PER_DAY = 86_400

const CHARGE_SEARCH_FIELDS = [
  "amount",
  "created",
  "currency",
  "customer",
  "disputed",
  "metadata",
  "payment_intent",
  "refunded",
  "status",
] as const

/** Stripe's processing fee, roughly: 1.5% + 25 for EUR, 2.9% + 30 otherwise. */
function feeFor(amount: number, currency: string): number {
  return currency === "eur" ? Math.round(amount * 0.015) + 25 : Math.round(amount * 0.029) + 30
}

/** Charges (created by PaymentIntents) and the balance transactions they move. */
export class Charges {
  constructor(private readonly core: Core) {}

  private get store() {
    return this.core.store
  }

  require(id: string, param = "id"): Stripe.Charge {
    const charge = this.store.charges.get(id)
    if (!charge) throw resourceMissing("charge", id, param)
    return charge
  }

  list(params: Params): ListObject<Stripe.Charge> {
    const intent = str(params, "payment_intent")
    const customer = str(params, "customer")
    const created = createdMatcher(params)
    const items = [...this.store.charges.values()].filter(
      (charge) =>
        (intent === undefined || charge.payment_intent === intent) &&
        (customer === undefined || charge.customer === customer) &&
        created(charge.created)
    )
    return paginate(items, params, "/v1/charges")
  }

  search(params: Params): SearchResultObject<Stripe.Charge> {
    return search(
      [...this.store.charges.values()],
      params,
      CHARGE_SEARCH_FIELDS,
      "/v1/charges/search"
    )
  }

  /** Books money movement; returns the balance transaction id. */
  book(
    source: string,
    amount: number,
    currency: string,
    type: "charge" | "payment" | "refund" | "adjustment",
    description: string | null
  ): string {
    const created = this.store.now()
    const fee = type === "charge" || type === "payment" ? feeFor(amount, currency) : 0
    const transaction: Stripe.BalanceTransaction = {
      id: this.store.id("txn"),
      object: "balance_transaction",
      amount,
      available_on: created + 2 * SECONDS_PER_DAY,
      created,
      currency,
      description,
      exchange_rate: null,
      fee,
      fee_details:
        fee > 0
          ? [
              {
                amount: fee,
                application: null,
                currency,
                description: "Stripe processing fees",
                type: "stripe_fee",
              },
            ]
          : [],
      net: amount - fee,
      reporting_category:
        type === "refund" ? "refund" : type === "adjustment" ? "dispute" : "charge",
      source,
      status: "pending",
      type,
    }
    this.store.balanceTransactions.set(transaction.id, transaction)
    return transaction.id
  }

  private paymentMethodDetails(
    method: Stripe.PaymentMethod,
    input: ChargeInput,
    created: number
  ): Stripe.Charge.PaymentMethodDetails {
    const type = method.type
    if (type === "card" && method.card) {
      const card = method.card
      const manual = !input.captured && input.status === "succeeded"
      const details: Stripe.Charge.PaymentMethodDetails.Card = {
        amount_authorized: input.status === "failed" ? null : input.intent.amount,
        brand: card.brand,
        ...(manual ? { capture_before: created + 7 * SECONDS_PER_DAY } : {}),
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
        country: card.country,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        extended_authorization: { status: "disabled" },
        fingerprint: card.fingerprint ?? null,
        funding: card.funding,
        incremental_authorization: { status: "unavailable" },
        installments: null,
        last4: card.last4,
        mandate: null,
        multicapture: { status: "unavailable" },
        network: card.brand,
        network_token: { used: false },
        overcapture: { maximum_amount_capturable: input.intent.amount, status: "unavailable" },
        three_d_secure: input.threeDSecure
          ? ({
              authentication_flow: "challenge",
              electronic_commerce_indicator: "05",
              exemption_indicator: null,
              result: "authenticated",
              result_reason: null,
              transaction_id: `${randomToken(8)}-${randomToken(4)}-${randomToken(4)}`.toLowerCase(),
              version: "2.2.0",
            } as Stripe.Charge.PaymentMethodDetails.Card.ThreeDSecure)
          : null,
        wallet: null,
      }
      return { type: "card", card: details } as Stripe.Charge.PaymentMethodDetails
    }
    const stored = (method as unknown as Record<string, unknown>)[type]
    const base = typeof stored === "object" && stored !== null ? { ...stored } : {}
    const name = method.billing_details.name ?? "Jenny Rosen"
    const extra: Record<string, Record<string, unknown>> = {
      ideal: {
        bank: "ing",
        bic: "INGBNL2A",
        generated_sepa_debit: null,
        generated_sepa_debit_mandate: null,
        iban_last4: "5264",
        verified_name: name,
      },
      bancontact: {
        bank_code: "VAPE",
        bank_name: "VAN DE PUT & CO",
        bic: "VAPEBE22",
        generated_sepa_debit: null,
        generated_sepa_debit_mandate: null,
        iban_last4: "7061",
        preferred_language: "en",
        verified_name: name,
      },
      giropay: {
        bank_code: "00000000",
        bank_name: "Test Bank",
        bic: "TESTDE00",
        verified_name: name,
      },
      p24: { bank: "ing", reference: `P24-${randomToken(9)}`, verified_name: name },
      klarna: { payment_method_category: "pay_later", preferred_locale: "de-DE" },
      blik: {},
      sepa_debit: {
        bank_code: "37040044",
        branch_code: null,
        country: "DE",
        fingerprint: null,
        last4: "3000",
        mandate: `mandate_${randomToken(24)}`,
      },
    }
    const filtered =
      type === "sepa_debit"
        ? Object.fromEntries(Object.entries(base).filter(([key]) => key !== "generated_from"))
        : type === "klarna"
          ? {}
          : base
    return {
      type,
      [type]: { ...(extra[type] ?? {}), ...filtered },
    } as unknown as Stripe.Charge.PaymentMethodDetails
  }

  private outcome(
    input: Pick<ChargeInput, "status" | "decline" | "risk">,
    id: string
  ): Stripe.Charge.Outcome | null {
    if (input.status === "pending") return null
    const decline = input.decline
    if (decline?.blocked) {
      return {
        network_status: "not_sent_to_network",
        reason: "highest_risk_level",
        risk_level: "highest",
        risk_score: 95,
        seller_message: "Stripe blocked this payment as too risky.",
        type: "blocked",
      }
    }
    const riskLevel = input.risk ?? "normal"
    const riskScore = riskLevel === "elevated" ? 74 : 5 + hashToInt(id, 60)
    if (decline) {
      return {
        network_status: "declined_by_network",
        reason: decline.declineCode,
        risk_level: riskLevel,
        risk_score: riskScore,
        seller_message:
          decline.declineCode === "generic_decline"
            ? "The bank did not return any further details with this decline."
            : `The bank returned the decline code \`${decline.declineCode}\`.`,
        type: "issuer_declined",
      }
    }
    return {
      network_status: "approved_by_network",
      reason: riskLevel === "elevated" ? "elevated_risk_level" : null,
      risk_level: riskLevel,
      risk_score: riskScore,
      seller_message: "Payment complete.",
      type: "authorized",
    }
  }

  /** A charge for an attempt to pay `intent` with `method`. */
  create(input: ChargeInput): Stripe.Charge {
    const { intent, method, status, captured } = input
    const id = this.store.id("ch")
    const created = this.store.now()
    const succeeded = status === "succeeded"
    const amountCaptured = captured && status !== "failed" ? intent.amount : 0
    const suffix = intent.statement_descriptor_suffix
    const charge: Stripe.Charge = {
      id,
      object: "charge",
      amount: intent.amount,
      amount_captured: amountCaptured,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: null,
      billing_details: method.billing_details,
      calculated_statement_descriptor: suffix ? `EMULATOR* ${suffix}`.slice(0, 22) : "EMULATOR",
      captured: captured && status !== "failed",
      created,
      currency: intent.currency,
      customer: typeof intent.customer === "string" ? intent.customer : null,
      description: intent.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: input.decline?.code ?? null,
      failure_message: input.decline?.message ?? null,
      fraud_details: {},
      invoice: null,
      livemode: false,
      metadata: { ...intent.metadata },
      on_behalf_of: null,
      outcome: null,
      paid: succeeded,
      payment_intent: intent.id,
      payment_method: method.id,
      payment_method_details: this.paymentMethodDetails(method, input, created),
      radar_options: {},
      receipt_email: intent.receipt_email,
      receipt_number: null,
      receipt_url: `${this.core.baseUrl()}/_emulator/receipts/${id}`,
      refunded: false,
      review: null,
      shipping: intent.shipping as Stripe.Charge.Shipping | null,
      source: null,
      source_transfer: null,
      statement_descriptor: null,
      statement_descriptor_suffix: suffix,
      status,
      transfer_data: null,
      transfer_group: null,
    }
    charge.outcome = this.outcome(input, id)
    if (succeeded && charge.captured) {
      charge.balance_transaction = this.bookCharge(charge)
    }
    this.store.charges.set(id, charge)
    return charge
  }

  private bookCharge(charge: Stripe.Charge): string {
    const type = charge.payment_method_details?.type === "card" ? "charge" : "payment"
    return this.book(charge.id, charge.amount_captured, charge.currency, type, charge.description)
  }

  /** Captures `amount` of an authorized charge; the rest of the authorization is released. */
  capture(charge: Stripe.Charge, amount: number): void {
    charge.captured = true
    charge.amount_captured = amount
    charge.balance_transaction = this.bookCharge(charge)
    const card = charge.payment_method_details?.card
    if (card) delete card.capture_before
  }

  /** Releases an authorization that will never be captured (the intent was canceled). */
  release(charge: Stripe.Charge): void {
    charge.refunded = true
    charge.amount_refunded = charge.amount
    // Stripe records the released authorization as a refund of the uncaptured amount.
    const id = this.store.id("re")
    this.store.refunds.set(id, {
      id,
      object: "refund",
      amount: charge.amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.store.now(),
      currency: charge.currency,
      metadata: {},
      payment_intent: typeof charge.payment_intent === "string" ? charge.payment_intent : null,
      reason: null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: "succeeded",
      transfer_reversal: null,
    })
    this.store.chargeRefunds.set(charge.id, [
      ...(this.store.chargeRefunds.get(charge.id) ?? []),
      id,
    ])
  }

  /** Settles a pending (bank debit) charge. */
  settle(
    charge: Stripe.Charge,
    succeed: boolean,
    failure?: { code: string; message: string }
  ): void {
    if (succeed) {
      charge.status = "succeeded"
      charge.paid = true
      charge.outcome = this.outcome({ status: "succeeded" }, charge.id)
      charge.balance_transaction = this.bookCharge(charge)
    } else {
      charge.status = "failed"
      charge.paid = false
      charge.captured = false
      charge.amount_captured = 0
      charge.failure_code = failure?.code ?? "insufficient_funds"
      charge.failure_message =
        failure?.message ?? "The customer's account has insufficient funds to cover this payment."
      charge.outcome = {
        network_status: "declined_by_network",
        reason: null,
        risk_level: "not_assessed",
        seller_message: "The bank declined the debit.",
        type: "issuer_declined",
      }
    }
  }
}
