import type { EventBusService, Logger, OrderService } from "@medusajs/medusa"
import type { PaymentRepository } from "@medusajs/medusa/dist/repositories/payment"
import type { RefundRepository } from "@medusajs/medusa/dist/repositories/refund"
import type Stripe from "stripe"
import type { EntityManager } from "typeorm"
import { PLUGIN_NAME, PROVIDER_IDS } from "../constants"
import { fromStripeAmount } from "../core/amounts"
import { parseSessionData, withRefund } from "../core/session-data"
import type { LedgerPayment, LedgerResource, LedgerView, MedusaBooks } from "./ledger"

/** Marks refunds booked from Stripe in Medusa's `refund.idempotency_key`. */
const REFUND_KEY_PREFIX = "stripe-refund:"
const DISPUTE_KEY_PREFIX = "stripe-dispute:"

export const DASHBOARD_REFUND_NOTE = "refunded in Stripe"
export const LOST_DISPUTE_NOTE = "dispute lost in Stripe"

/** Order metadata: the latest dispute, every dispute by id, and what needs a person. */
export const DISPUTE_METADATA_KEY = "stripe_dispute"
export const DISPUTES_METADATA_KEY = "stripe_disputes"
export const RECONCILIATION_METADATA_KEY = "stripe_reconciliation"

const STRIPE_PROVIDER_IDS: string[] = Object.values(PROVIDER_IDS)

/**
 * Whether the resource ($1) is settled (a cart with its order, a collection canceled or paid in
 * full) and whether one of its payment sessions holds the intent ($2).
 */
const RESOURCE_SQL: Record<LedgerResource["kind"], string> = {
  cart: `SELECT c.completed_at IS NOT NULL
                OR EXISTS (SELECT 1 FROM "order" o WHERE o.cart_id = c.id) AS settled,
                EXISTS (SELECT 1 FROM payment_session s
                        WHERE s.cart_id = c.id AND s.data->>'id' = $2) AS holds
         FROM cart c WHERE c.id = $1`,
  payment_collection: `SELECT c.status = 'canceled' OR c.authorized_amount >= c.amount AS settled,
                EXISTS (SELECT 1 FROM payment_session s
                        JOIN payment_collection_sessions link ON link.payment_session_id = s.id
                        WHERE link.payment_collection_id = c.id AND s.data->>'id' = $2) AS holds
         FROM payment_collection c WHERE c.id = $1`,
}

/** Medusa's services the books need, resolved from the container by the caller. */
export interface MedusaBooksServices {
  manager: EntityManager
  logger: Pick<Logger, "warn">
  orderService: OrderService
  eventBusService: EventBusService
  paymentRepository: typeof PaymentRepository
  refundRepository: typeof RefundRepository
  /** Captures a swap's additional payment once Stripe has the money. */
  processSwapDifference(swapId: string): Promise<unknown>
  /** Marks one payment captured, as `PaymentProviderService.capturePayment` does. */
  capturePayment(paymentId: string): Promise<unknown>
}

interface PaymentRow {
  id: string
  amount: number
  amount_refunded: number
  currency_code: string
  captured_at: Date | null
  canceled_at: Date | null
  order_id: string | null
  swap_id: string | null
  data: Record<string, unknown>
  booked_keys: string[] | null
  order_metadata: Record<string, unknown> | null
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function refundIdsOf(data: Record<string, unknown>): string[] {
  try {
    return (parseSessionData(data).refunds ?? []).map((refund) => refund.id)
  } catch {
    return []
  }
}

function notedDisputes(metadata: Record<string, unknown> | null): Record<string, string> {
  const disputes = metadata?.[DISPUTES_METADATA_KEY]
  if (!isRecord(disputes)) {
    return {}
  }
  return Object.fromEntries(
    Object.entries(disputes).map(([id, note]) => [
      id,
      isRecord(note) && typeof note.status === "string" ? note.status : "",
    ])
  )
}

function disputeNote(dispute: Stripe.Dispute, intentId: string): Record<string, unknown> {
  return {
    id: dispute.id,
    status: dispute.status,
    reason: dispute.reason,
    amount: fromStripeAmount(dispute.amount, dispute.currency),
    currency: dispute.currency,
    charge: typeof dispute.charge === "string" ? dispute.charge : (dispute.charge?.id ?? null),
    payment_intent: intentId,
    funds_withdrawn: dispute.balance_transactions.some((transaction) => transaction.amount < 0),
    funds_reinstated: dispute.balance_transactions.some((transaction) => transaction.amount > 0),
    created_at: new Date(dispute.created * 1000).toISOString(),
    evidence_due_by:
      typeof dispute.evidence_details?.due_by === "number"
        ? new Date(dispute.evidence_details.due_by * 1000).toISOString()
        : null,
  }
}

/**
 * Medusa's books about PaymentIntents, on Medusa's own tables and services. The SQL reads
 * Medusa 1.20's schema (`payment`, `refund`, `order`, `cart`, `payment_session`,
 * `payment_collection`); review it with every Medusa upgrade.
 */
export class MedusaTableBooks implements MedusaBooks {
  constructor(private readonly services: MedusaBooksServices) {}

  private get manager(): EntityManager {
    return this.services.manager
  }

  async read(paymentIntentId: string, resourceId: string | undefined): Promise<LedgerView> {
    const rows = (await this.manager.query(
      `SELECT p.id, p.amount, p.amount_refunded, p.currency_code, p.captured_at, p.canceled_at,
              p.order_id, p.swap_id, p.data, o.metadata AS order_metadata,
              (SELECT array_agg(r.idempotency_key) FROM refund r
                WHERE r.payment_id = p.id AND r.idempotency_key LIKE 'stripe-%') AS booked_keys
       FROM payment p LEFT JOIN "order" o ON o.id = p.order_id
       WHERE p.provider_id = ANY($1) AND p.data->>'id' = $2
       ORDER BY p.created_at`,
      [STRIPE_PROVIDER_IDS, paymentIntentId]
    )) as PaymentRow[]
    const payments = rows.map((row): LedgerPayment => ({
      id: row.id,
      amount: Number(row.amount),
      amount_refunded: Number(row.amount_refunded ?? 0),
      currency_code: row.currency_code,
      captured: row.captured_at !== null,
      canceled: row.canceled_at !== null,
      order_id: row.order_id,
      swap_id: row.swap_id,
      booked_refunds: [
        ...refundIdsOf(row.data),
        ...(row.booked_keys ?? []).map((key) =>
          key.replace(REFUND_KEY_PREFIX, "").replace(DISPUTE_KEY_PREFIX, "")
        ),
      ],
      noted_disputes: notedDisputes(row.order_metadata),
    }))
    return { payments, resource: await this.resource(paymentIntentId, resourceId) }
  }

  private async resource(
    paymentIntentId: string,
    resourceId: string | undefined
  ): Promise<LedgerResource | undefined> {
    const kind = resourceId?.startsWith("cart_")
      ? "cart"
      : resourceId?.startsWith("paycol_")
        ? "payment_collection"
        : undefined
    if (!resourceId || !kind) {
      return undefined
    }
    const [row] = (await this.manager.query(RESOURCE_SQL[kind], [resourceId, paymentIntentId])) as {
      settled: boolean
      holds: boolean
    }[]
    return {
      id: resourceId,
      kind,
      exists: row !== undefined,
      settled: row?.settled ?? false,
      session_holds_intent: row?.holds ?? false,
    }
  }

  async bookCapture(payment: LedgerPayment, amount: number): Promise<void> {
    const [row] = (await this.manager.query(`SELECT data FROM payment WHERE id = $1`, [
      payment.id,
    ])) as { data: Record<string, unknown> }[]
    // The data takes the captured status first, so the processor's capture makes no call.
    const data = { ...(row?.data ?? {}), status: "succeeded", synced_at: Date.now() }
    await this.manager.query(
      `UPDATE payment SET data = $2, amount = LEAST(amount, $3), updated_at = now() WHERE id = $1`,
      [payment.id, JSON.stringify(data), amount]
    )
    if (payment.swap_id) {
      // A swap's additional payment: Medusa captures it, and marks the swap, through the swap.
      await this.services.processSwapDifference(payment.swap_id)
      return
    }
    await this.services.capturePayment(payment.id)
    if (payment.order_id) {
      await this.manager.query(
        `UPDATE "order" SET payment_status = 'captured', updated_at = now()
         WHERE id = $1 AND NOT EXISTS (
           SELECT 1 FROM payment p WHERE p.order_id = $1 AND p.captured_at IS NULL AND p.canceled_at IS NULL)`,
        [payment.order_id]
      )
    }
  }

  bookRefund(payment: LedgerPayment, refund: Stripe.Refund): Promise<boolean> {
    return this.bookRefundRow(payment, {
      key: `${REFUND_KEY_PREFIX}${refund.id}`,
      amount: fromStripeAmount(refund.amount, refund.currency),
      note: DASHBOARD_REFUND_NOTE,
      metadata: { stripe_refund_id: refund.id },
      refund,
    })
  }

  noteRefund(booked: LedgerPayment, refund: Stripe.Refund): Promise<boolean> {
    return this.manager.transaction(async (tx) => {
      const [row] = (await tx.query(
        `SELECT data FROM payment WHERE id = $1 AND order_id IS NULL FOR UPDATE`,
        [booked.id]
      )) as { data: Record<string, unknown> }[]
      if (!row || refundIdsOf(row.data).includes(refund.id)) {
        return false
      }
      let data
      try {
        data = withRefund(parseSessionData(row.data), refund)
      } catch {
        return false
      }
      await tx.query(`UPDATE payment SET data = $2, updated_at = now() WHERE id = $1`, [
        booked.id,
        JSON.stringify(data),
      ])
      return true
    })
  }

  bookLostDispute(payment: LedgerPayment, dispute: Stripe.Dispute): Promise<boolean> {
    return this.bookRefundRow(payment, {
      key: `${DISPUTE_KEY_PREFIX}${dispute.id}`,
      amount: fromStripeAmount(dispute.amount, dispute.currency),
      note: LOST_DISPUTE_NOTE,
      metadata: { stripe_dispute_id: dispute.id },
    })
  }

  /** One `Refund` row in one transaction; false when the key is on the order already. */
  private async bookRefundRow(
    booked: LedgerPayment,
    entry: {
      key: string
      amount: number
      note: string
      metadata: Record<string, string>
      refund?: Stripe.Refund
    }
  ): Promise<boolean> {
    const { eventBusService, paymentRepository, refundRepository } = this.services
    return this.manager.transaction(async (tx) => {
      const payments = tx.withRepository(paymentRepository)
      const refunds = tx.withRepository(refundRepository)
      // The payment's row lock first: two bookings of one refund wait for each other here, and
      // the second then finds the first's row.
      const payment = await payments.findOne({
        where: { id: booked.id },
        lock: { mode: "pessimistic_write" },
      })
      if (!payment?.order_id) {
        return false
      }
      // A refund the plugin made is booked by the request that made it, in the payment's data.
      if (entry.refund && refundIdsOf(payment.data ?? {}).includes(entry.refund.id)) {
        return false
      }
      const existing = (await tx.query(`SELECT id FROM refund WHERE idempotency_key = $1`, [
        entry.key,
      ])) as unknown[]
      if (existing.length > 0) {
        return false
      }
      payment.amount_refunded = (payment.amount_refunded ?? 0) + entry.amount
      if (entry.refund) {
        try {
          payment.data = withRefund(parseSessionData(payment.data), entry.refund)
        } catch {
          // Data the plugin cannot read is left as it is; the refund row is what counts.
        }
      }
      await payments.save(payment)
      const created = await refunds.save(
        refunds.create({
          payment_id: payment.id,
          order_id: payment.order_id,
          amount: entry.amount,
          reason: "other",
          note: entry.note,
          idempotency_key: entry.key,
          metadata: entry.metadata,
        })
      )
      await this.updateOrderPaymentStatus(tx, payment.order_id)
      const [order] = (await tx.query(`SELECT no_notification FROM "order" WHERE id = $1`, [
        payment.order_id,
      ])) as { no_notification: boolean | null }[]
      await eventBusService.withTransaction(tx).emit("order.refund_created", {
        id: payment.order_id,
        refund_id: created.id,
        no_notification: order?.no_notification ?? undefined,
      })
      return true
    })
  }

  /** The order's payment status after a refund, as `OrderService.createRefund` sets it. */
  private async updateOrderPaymentStatus(tx: EntityManager, orderId: string): Promise<void> {
    const order = await this.services.orderService
      .withTransaction(tx)
      .retrieveWithTotals(orderId, { relations: ["payments"] })
    let status: string | undefined
    if (order.paid_total > 0 && order.refunded_total >= order.paid_total) {
      status = "refunded"
    } else if (order.refunded_total > 0 && order.refundable_amount > 0) {
      status = "partially_refunded"
    }
    if (status && status !== order.payment_status) {
      await tx.query(`UPDATE "order" SET payment_status = $2, updated_at = now() WHERE id = $1`, [
        orderId,
        status,
      ])
    }
  }

  async bookRelease(payment: LedgerPayment, reason: string): Promise<void> {
    // The data says canceled too, so a later capture from the admin is refused without a call.
    await this.manager.query(
      `UPDATE payment
       SET canceled_at = now(), updated_at = now(),
           data = data || jsonb_build_object('status', 'canceled')
       WHERE id = $1 AND canceled_at IS NULL`,
      [payment.id]
    )
    if (payment.order_id) {
      await this.manager.query(
        `UPDATE "order" SET payment_status = 'canceled', updated_at = now()
         WHERE id = $1 AND NOT EXISTS (
           SELECT 1 FROM payment p WHERE p.order_id = $1 AND p.canceled_at IS NULL)`,
        [payment.order_id]
      )
    }
    await this.flag(payment, reason)
  }

  async noteDisputes(payment: LedgerPayment, disputes: Stripe.Dispute[]): Promise<void> {
    if (!payment.order_id || disputes.length === 0) {
      return
    }
    const intentId = String(disputes[0].payment_intent ?? "")
    const notes = Object.fromEntries(disputes.map((d) => [d.id, disputeNote(d, intentId)]))
    const latest = [...disputes].sort((a, b) => b.created - a.created)[0]
    await this.mergeOrderMetadata(payment.order_id, {
      [DISPUTE_METADATA_KEY]: notes[latest.id],
      [DISPUTES_METADATA_KEY]: notes,
    })
    const open = disputes.filter((d) => !["won", "lost"].includes(d.status))
    if (open.length > 0) {
      this.services.logger.warn(
        `${PLUGIN_NAME}: order ${payment.order_id} is disputed in Stripe (${open.map((d) => `${d.id}, reason ${d.reason}`).join("; ")}); answer it in the Stripe dashboard`
      )
    }
  }

  async flag(payment: LedgerPayment, issue: string): Promise<void> {
    if (!payment.order_id) {
      this.services.logger.warn(`${PLUGIN_NAME}: payment ${payment.id}: ${issue}`)
      return
    }
    const [row] = (await this.manager.query(`SELECT metadata FROM "order" WHERE id = $1`, [
      payment.order_id,
    ])) as { metadata: Record<string, unknown> | null }[]
    const current = row?.metadata?.[RECONCILIATION_METADATA_KEY]
    const issues =
      isRecord(current) && Array.isArray(current.issues) ? current.issues.map(String) : []
    if (issues.includes(issue)) {
      return
    }
    await this.mergeOrderMetadata(payment.order_id, {
      [RECONCILIATION_METADATA_KEY]: {
        issues: [...issues, issue],
        flagged_at: new Date().toISOString(),
      },
    })
    this.services.logger.warn(`${PLUGIN_NAME}: order ${payment.order_id}: ${issue}`)
  }

  /** Sets top-level keys of the order's metadata, keeping the others. */
  private async mergeOrderMetadata(
    orderId: string,
    entries: Record<string, unknown>
  ): Promise<void> {
    await this.manager.query(
      `UPDATE "order"
       SET metadata = COALESCE(metadata, '{}'::jsonb) || $2::jsonb, updated_at = now()
       WHERE id = $1`,
      [orderId, JSON.stringify(entries)]
    )
  }
}
