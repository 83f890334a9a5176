import type { Logger } from "@medusajs/medusa"
import type { EntityManager } from "typeorm"
import { PLUGIN_NAME, PROVIDER_IDS } from "../constants"
import { LockTimeoutError, type LockLease } from "../core/advisory-lock"
import { messageOf } from "../core/errors"
import type { ReconcileReport } from "./reconciler"

/** Advisory lock held by the process reconciling recent payments. */
const SWEEP_LOCK = "stripe-reconcile-sweep"

/**
 * The sweep looks at Stripe payments made within this many days, the longest unreconciled
 * first, this many per run: money moves at Stripe for weeks after a checkout (captures,
 * refunds, disputes, authorizations expiring), and not every move sends an event that arrives.
 */
export const SWEEP_DAYS = 30
export const SWEEP_BATCH = 10

const STRIPE_PROVIDER_IDS: string[] = Object.values(PROVIDER_IDS)

export interface SweepDeps {
  manager: Pick<EntityManager, "query">
  logger: Pick<Logger, "info" | "warn">
  acquireLock(name: string, waitMs: number): Promise<LockLease>
  /** Reconciles one intent under its lock. */
  reconcile(paymentIntentId: string): Promise<ReconcileReport>
}

/**
 * Reconciles a few recent Stripe payments, the ones reconciled longest ago first, and notes
 * when each was looked at (`reconciled_at` in the payment's data). One process sweeps at a
 * time; returns how many payments it looked at.
 */
export async function sweepRecentPayments(
  deps: SweepDeps,
  batch: number = SWEEP_BATCH
): Promise<number> {
  let lease: LockLease
  try {
    lease = await deps.acquireLock(SWEEP_LOCK, 0)
  } catch (error) {
    if (error instanceof LockTimeoutError) {
      return 0
    }
    throw error
  }
  try {
    const rows = (await deps.manager.query(
      `SELECT id, data->>'id' AS intent FROM payment
       WHERE provider_id = ANY($1) AND starts_with(data->>'id', 'pi_')
         AND created_at > now() - make_interval(days => $2)
       ORDER BY COALESCE((data->>'reconciled_at')::bigint, 0), created_at
       LIMIT $3`,
      [STRIPE_PROVIDER_IDS, SWEEP_DAYS, batch]
    )) as { id: string; intent: string }[]
    for (const row of rows) {
      try {
        const report = await deps.reconcile(row.intent)
        const changes = [...report.fixed, ...report.flagged]
        if (changes.length > 0) {
          deps.logger.info(`${PLUGIN_NAME}: reconciled ${row.intent}: ${changes.join("; ")}`)
        }
      } catch (error) {
        deps.logger.warn(
          `${PLUGIN_NAME}: could not reconcile ${row.intent} of payment ${row.id}: ${messageOf(error)}`
        )
      }
      await deps.manager.query(
        `UPDATE payment SET data = data || jsonb_build_object('reconciled_at', $2::bigint) WHERE id = $1`,
        [row.id, Date.now()]
      )
    }
    return rows.length
  } finally {
    await lease.release()
  }
}
