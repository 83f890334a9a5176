import type Stripe from "stripe"
import type { Charges } from "./charges"
import { ApiError, docUrl, EmulatorControlError, invalidRequest, resourceMissing } from "./errors"
import { createdMatcher, paginate, type ListObject } from "./listing"
import { formatAmount } from "./money"
import { applyMetadata, int, str, type Params } from "./params"
import type { PaymentIntents } from "./payment-intents"
import { randomToken } from "./random"
import { NO_REQUEST, type Core, type RequestContext } from "./store"

/** How the next refund fails: a `balance_insufficient` API error, or a refund in status failed. */
export type RefundFailureMode = "error" | "failed"

const BALANCE_INSUFFICIENT_MESSAGE =
  "Insufficient funds in Stripe account. In test mode, you can add funds to your available balance (bypassing your pending balance) by creating a charge with 4000 0000 0000 0077 as the card number. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance)."

const SECONDS_PER_DAY = 86_400

/** Refunds of captured charges. */
export class Refunds {
  private nextFailure: RefundFailureMode | undefined

  constructor(
    private readonly core: Core,
    private readonly charges: Charges,
    private readonly intents: PaymentIntents
  ) {}

  private get store() {
    return this.core.store
  }

  /** Makes the next refund fail. */
  failNext(mode: RefundFailureMode = "error"): void {
    this.nextFailure = mode
  }

  reset(): void {
    this.nextFailure = undefined
  }

  private chargeToRefund(params: Params): Stripe.Charge {
    const intentId = str(params, "payment_intent")
    const chargeId = str(params, "charge")
    if (!intentId && !chargeId) {
      throw invalidRequest(
        "One of the following params should be provided for this request: payment_intent or charge.",
        { code: "parameter_missing" }
      )
    }
    let charge: Stripe.Charge | undefined
    if (intentId) {
      const intent = this.intents.require(intentId, "payment_intent")
      if (intent.status === "requires_capture") {
        throw invalidRequest(
          `This PaymentIntent (${intent.id}) has not been captured, so its charge is only an authorization. You must cancel the PaymentIntent to reverse the authorization instead of refunding it.`,
          { code: "charge_not_refundable", param: "payment_intent" }
        )
      }
      charge =
        typeof intent.latest_charge === "string"
          ? this.store.charges.get(intent.latest_charge)
          : undefined
      if (!charge || intent.status !== "succeeded") {
        throw invalidRequest(
          `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`,
          { code: "charge_not_refundable", param: "payment_intent" }
        )
      }
      if (chargeId && chargeId !== charge.id) {
        throw invalidRequest(
          `The charge ${chargeId} does not belong to the PaymentIntent ${intent.id}.`,
          { param: "charge" }
        )
      }
    } else if (chargeId) {
      charge = this.charges.require(chargeId, "charge")
    }
    if (!charge) throw new Error("unreachable: no charge")
    if (!charge.captured && charge.status === "succeeded") {
      throw invalidRequest(
        `This uncaptured Charge was created by a PaymentIntent (${String(charge.payment_intent)}). You must cancel the PaymentIntent to reverse the authorization instead of refunding the Charge directly.`,
        { code: "charge_not_refundable", param: chargeId ? "charge" : "payment_intent" }
      )
    }
    if (charge.status !== "succeeded") {
      throw invalidRequest(
        `Charge ${charge.id} has a status of ${charge.status} and cannot be refunded.`,
        {
          code: "charge_not_refundable",
        }
      )
    }
    if (charge.disputed) {
      throw invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, {
        code: "charge_disputed",
      })
    }
    return charge
  }

  create(params: Params, ctx: RequestContext): Stripe.Refund {
    const charge = this.chargeToRefund(params)
    const remaining = charge.amount_captured - charge.amount_refunded
    if (remaining <= 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
        code: "charge_already_refunded",
      })
    }
    const amount = int(params, "amount") ?? remaining
    if (amount < 1) {
      throw invalidRequest("This value must be greater than or equal to 1.", {
        code: "parameter_invalid_integer",
        param: "amount",
      })
    }
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(remaining, charge.currency)})`,
        { code: "amount_too_large", param: "amount" }
      )
    }
    const failure = this.nextFailure
    this.nextFailure = undefined
    if (failure === "error") {
      throw new ApiError(400, {
        type: "invalid_request_error",
        code: "balance_insufficient",
        doc_url: docUrl("balance_insufficient"),
        message: BALANCE_INSUFFICIENT_MESSAGE,
      })
    }
    const type = charge.payment_method_details?.type ?? "card"
    const id = this.store.id("re")
    const created = this.store.now()
    const refund: Stripe.Refund = {
      id,
      object: "refund",
      amount,
      balance_transaction: null,
      charge: charge.id,
      created,
      currency: charge.currency,
      destination_details: (type === "card"
        ? {
            type: "card",
            card: {
              reference: randomToken(12),
              reference_status: "available",
              reference_type: "acquirer_reference_number",
              type: "refund",
            },
          }
        : { type }) as Stripe.Refund.DestinationDetails,
      metadata: applyMetadata({}, params),
      payment_intent: typeof charge.payment_intent === "string" ? charge.payment_intent : null,
      reason: (str(params, "reason") as Stripe.Refund.Reason | undefined) ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: failure === "failed" ? "failed" : "succeeded",
      transfer_reversal: null,
    }
    if (failure === "failed") {
      refund.failure_reason = "insufficient_funds"
    } else {
      refund.balance_transaction = this.charges.book(
        id,
        -amount,
        charge.currency,
        "refund",
        "REFUND FOR CHARGE"
      )
    }
    this.store.refunds.set(id, refund)
    const ids = this.store.chargeRefunds.get(charge.id) ?? []
    ids.push(id)
    this.store.chargeRefunds.set(charge.id, ids)
    if (failure === "failed") {
      this.core.emit("refund.created", refund, ctx)
      this.core.emit("charge.refund.updated", refund, ctx)
      return refund
    }
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded }
    charge.amount_refunded += amount
    charge.refunded = charge.amount_refunded >= charge.amount_captured
    this.core.emit("charge.refunded", charge, ctx, previous)
    this.core.emit("refund.created", refund, ctx)
    return refund
  }

  /** A refund made in the Stripe Dashboard: no metadata, no API request. */
  fromDashboard(intentId: string, amount?: number): Stripe.Refund {
    if (!this.store.paymentIntents.has(intentId)) {
      throw new EmulatorControlError(`No such payment_intent: '${intentId}'`, 404)
    }
    try {
      return this.create(
        { payment_intent: intentId, ...(amount !== undefined ? { amount } : {}) },
        NO_REQUEST
      )
    } catch (error) {
      if (error instanceof ApiError) throw new EmulatorControlError(error.message, error.status)
      throw error
    }
  }

  retrieve(id: string): Stripe.Refund {
    const refund = this.store.refunds.get(id)
    if (!refund) throw resourceMissing("refund", id)
    return refund
  }

  update(id: string, params: Params, ctx: RequestContext): Stripe.Refund {
    const refund = this.retrieve(id)
    if (params.metadata !== undefined) {
      const previous = { metadata: refund.metadata }
      refund.metadata = applyMetadata(refund.metadata ?? {}, params)
      this.core.emit("refund.updated", refund, ctx, previous)
    }
    return refund
  }

  list(params: Params, chargeId?: string): ListObject<Stripe.Refund> {
    const charge = chargeId ?? str(params, "charge")
    const intent = str(params, "payment_intent")
    const created = createdMatcher(params)
    const items = [...this.store.refunds.values()].filter(
      (refund) =>
        (charge === undefined || refund.charge === charge) &&
        (intent === undefined || refund.payment_intent === intent) &&
        created(refund.created)
    )
    return paginate(items, params, chargeId ? `/v1/charges/${chargeId}/refunds` : "/v1/refunds")
  }
}

const EVIDENCE_FIELDS = [
  "access_activity_log",
  "billing_address",
  "cancellation_policy",
  "cancellation_policy_disclosure",
  "cancellation_rebuttal",
  "customer_communication",
  "customer_email_address",
  "customer_name",
  "customer_purchase_ip",
  "customer_signature",
  "duplicate_charge_documentation",
  "duplicate_charge_explanation",
  "duplicate_charge_id",
  "product_description",
  "receipt",
  "refund_policy",
  "refund_policy_disclosure",
  "refund_refusal_explanation",
  "service_date",
  "service_documentation",
  "shipping_address",
  "shipping_carrier",
  "shipping_date",
  "shipping_documentation",
  "shipping_tracking_number",
  "uncategorized_file",
  "uncategorized_text",
] as const

/** Chargebacks opened by the cardholder's bank. */
export class Disputes {
  constructor(
    private readonly core: Core,
    private readonly charges: Charges
  ) {}

  private get store() {
    return this.core.store
  }

  /** Opens a dispute on a charge (or on the latest charge of a PaymentIntent). */
  create(target: string, options: { reason?: string; amount?: number } = {}): Stripe.Dispute {
    let chargeId = target
    if (target.startsWith("pi_")) {
      const intent = this.store.paymentIntents.get(target)
      if (!intent) throw new EmulatorControlError(`No such payment_intent: '${target}'`, 404)
      if (typeof intent.latest_charge !== "string") {
        throw new EmulatorControlError(`PaymentIntent ${target} has no charge to dispute`)
      }
      chargeId = intent.latest_charge
    }
    const charge = this.store.charges.get(chargeId)
    if (!charge) throw new EmulatorControlError(`No such charge: '${chargeId}'`, 404)
    if (charge.status !== "succeeded" || !charge.captured) {
      throw new EmulatorControlError(
        `Charge ${charge.id} is not a captured payment and cannot be disputed`
      )
    }
    if (charge.disputed) throw new EmulatorControlError(`Charge ${charge.id} is already disputed`)
    const created = this.store.now()
    const amount = options.amount ?? charge.amount_captured - charge.amount_refunded
    const id = this.store.id("dp")
    const transactionId = this.charges.book(
      id,
      -amount,
      charge.currency,
      "adjustment",
      `Chargeback withdrawal for ${charge.id}`
    )
    const transaction = this.store.balanceTransactions.get(transactionId)
    const card = charge.payment_method_details?.card
    const dispute: Stripe.Dispute = {
      id,
      object: "dispute",
      amount,
      balance_transactions: transaction ? [transaction] : [],
      charge: charge.id,
      created,
      currency: charge.currency,
      evidence: Object.fromEntries(
        EVIDENCE_FIELDS.map((field) => [field, null])
      ) as unknown as Stripe.Dispute.Evidence,
      evidence_details: {
        due_by: created + 7 * SECONDS_PER_DAY,
        has_evidence: false,
        past_due: false,
        submission_count: 0,
      },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: typeof charge.payment_intent === "string" ? charge.payment_intent : null,
      ...(card
        ? {
            payment_method_details: {
              type: "card",
              card: { brand: card.brand ?? "visa", network_reason_code: "10.4" },
            } as Stripe.Dispute.PaymentMethodDetails,
          }
        : {}),
      reason: options.reason ?? "fraudulent",
      status: "needs_response",
    }
    this.store.disputes.set(id, dispute)
    charge.disputed = true
    this.core.emit("charge.dispute.created", dispute, NO_REQUEST)
    this.core.emit("charge.dispute.funds_withdrawn", dispute, NO_REQUEST)
    return dispute
  }

  /**
   * The bank decides: `won` gives the withdrawn funds back to the merchant, `lost` keeps them
   * with the cardholder.
   */
  close(id: string, outcome: "won" | "lost"): Stripe.Dispute {
    const dispute = this.retrieve(id)
    if (dispute.status === "won" || dispute.status === "lost") {
      throw new EmulatorControlError(`Dispute ${id} is already closed (${dispute.status})`)
    }
    const previous = { status: dispute.status }
    dispute.status = outcome
    if (outcome === "won") {
      const transactionId = this.charges.book(
        id,
        dispute.amount,
        dispute.currency,
        "adjustment",
        `Chargeback reversal for ${String(dispute.charge)}`
      )
      const transaction = this.store.balanceTransactions.get(transactionId)
      if (transaction) dispute.balance_transactions = [...dispute.balance_transactions, transaction]
      this.core.emit("charge.dispute.funds_reinstated", dispute, NO_REQUEST)
    }
    this.core.emit("charge.dispute.closed", dispute, NO_REQUEST, previous)
    return dispute
  }

  retrieve(id: string): Stripe.Dispute {
    const dispute = this.store.disputes.get(id)
    if (!dispute) throw resourceMissing("dispute", id)
    return dispute
  }

  list(params: Params): ListObject<Stripe.Dispute> {
    const charge = str(params, "charge")
    const intent = str(params, "payment_intent")
    const items = [...this.store.disputes.values()].filter(
      (dispute) =>
        (charge === undefined || dispute.charge === charge) &&
        (intent === undefined || dispute.payment_intent === intent)
    )
    return paginate(items, params, "/v1/disputes")
  }
}
