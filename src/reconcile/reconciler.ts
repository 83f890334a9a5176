import type { Logger } from "@medusajs/medusa"
import type Stripe from "stripe"
import { METADATA_KEYS, PLUGIN_NAME, REFUND_ORIGIN_PLUGIN } from "../constants"
import { formatStripeAmount } from "../core/amounts"
import { idempotencyKeys, newOperationId } from "../core/idempotency"
import type { MedusaBooks } from "./ledger"
import { planReconciliation, type ReconcileAction } from "./plan"
import { readStripeTruth } from "./stripe-truth"

/** Everything the reconciler works with, handed over as one argument. */
export interface ReconcilerDeps {
  stripe: Stripe
  books: MedusaBooks
  logger: Pick<Logger, "info" | "warn">
  now?: () => number
}

/** What one reconciliation found and did, for the log, the webhook table and the admin. */
export interface ReconcileReport {
  payment_intent: string
  /** Differences found and made good. */
  fixed: string[]
  /** Differences that need a person; also flagged on the order. */
  flagged: string[]
  /** Differences Medusa may still settle itself (a request still running). */
  waiting: string[]
}

/**
 * Makes Medusa's books about one PaymentIntent match what Stripe holds: captures (partial ones
 * included), every refund by its Stripe id whoever made it, authorizations released at Stripe,
 * disputes and their outcome, and money no Medusa payment rests on, which goes back to the
 * shopper. Money moves at Stripe without Medusa asking (the dashboard, disputes, methods that
 * settle days later), so Stripe is the truth and the books follow; the one write to Stripe is
 * returning money nobody in Medusa will book.
 *
 * Idempotent: every booking is keyed by a Stripe id, so running it twice, or from two backends
 * (the caller holds the resource's lock), changes nothing the second time.
 */
export class PaymentIntentReconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async call(paymentIntentId: string, resourceId?: string): Promise<ReconcileReport> {
    const { stripe, books } = this.deps
    const truth = await readStripeTruth(stripe, paymentIntentId)
    const owner = resourceId ?? truth.intent.metadata?.[METADATA_KEYS.resourceId]
    const view = await books.read(paymentIntentId, owner)
    const actions = planReconciliation(truth, view, (this.deps.now ?? Date.now)())
    const report: ReconcileReport = {
      payment_intent: paymentIntentId,
      fixed: [],
      flagged: [],
      waiting: [],
    }
    for (const action of actions) {
      await this.apply(action, truth.intent, report)
    }
    return report
  }

  private async apply(
    action: ReconcileAction,
    intent: Stripe.PaymentIntent,
    report: ReconcileReport
  ): Promise<void> {
    const { books, logger } = this.deps
    switch (action.kind) {
      case "book_capture": {
        await books.bookCapture(action.payment, action.amount)
        report.fixed.push(
          `payment ${action.payment.id} captured at Stripe (${formatStripeAmount(intent.amount_received, intent.currency)}) and now in Medusa`
        )
        if (action.partial) {
          const issue = `${intent.id} was captured in part at Stripe (${formatStripeAmount(intent.amount_received, intent.currency)} of ${formatStripeAmount(intent.amount, intent.currency)}); the rest was released and the order is paid short`
          await books.flag(action.payment, issue)
          report.flagged.push(issue)
        }
        return
      }
      case "book_refund":
        if (await books.bookRefund(action.payment, action.refund)) {
          report.fixed.push(
            `refund ${action.refund.id} (${formatStripeAmount(action.refund.amount, action.refund.currency)}) booked on order ${action.payment.order_id}`
          )
        }
        return
      case "note_refund":
        if (await books.noteRefund(action.payment, action.refund)) {
          report.fixed.push(
            `refund ${action.refund.id} (${formatStripeAmount(action.refund.amount, action.refund.currency)}) noted on canceled payment ${action.payment.id}`
          )
        }
        return
      case "book_lost_dispute":
        if (await books.bookLostDispute(action.payment, action.dispute)) {
          report.fixed.push(
            `lost dispute ${action.dispute.id} (${formatStripeAmount(action.dispute.amount, action.dispute.currency)}) booked on order ${action.payment.order_id}`
          )
        }
        return
      case "book_release":
        await books.bookRelease(action.payment, action.reason)
        report.fixed.push(`payment ${action.payment.id} canceled: ${action.reason}`)
        return
      case "note_disputes":
        await books.noteDisputes(action.payment, action.disputes)
        report.fixed.push(
          `disputes noted on order ${action.payment.order_id}: ${action.disputes.map((d) => `${d.id} ${d.status}`).join(", ")}`
        )
        return
      case "flag":
        await books.flag(action.payment, action.issue)
        report.flagged.push(action.issue)
        return
      case "wait":
        report.waiting.push(action.reason)
        return
      case "return_money": {
        const done = await this.returnMoney(intent, action.held, action.reason)
        logger.warn(`${PLUGIN_NAME}: ${done}: ${action.reason}`)
        report.fixed.push(`${done}: ${action.reason}`)
        return
      }
    }
  }

  /** Releases an authorization, or refunds what a captured intent still holds. */
  private async returnMoney(
    intent: Stripe.PaymentIntent,
    held: number,
    reason: string
  ): Promise<string> {
    const { stripe } = this.deps
    if (intent.status === "requires_capture") {
      await stripe.paymentIntents.cancel(
        intent.id,
        { cancellation_reason: "abandoned" },
        { idempotencyKey: idempotencyKeys.cancelIntent(intent.id, newOperationId()) }
      )
      return `released the authorization of ${formatStripeAmount(held, intent.currency)} on ${intent.id}`
    }
    const refund = await stripe.refunds.create(
      {
        payment_intent: intent.id,
        amount: held,
        metadata: {
          [METADATA_KEYS.refundOrigin]: REFUND_ORIGIN_PLUGIN,
          medusa_reason: reason.slice(0, 500),
        },
      },
      { idempotencyKey: idempotencyKeys.refund(intent.id, newOperationId()) }
    )
    return `refunded ${formatStripeAmount(refund.amount, refund.currency)} of ${intent.id} (${refund.id})`
  }
}
