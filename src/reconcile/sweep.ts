import type { Logger } from "@medusajs/medusa"
import type Stripe from "stripe"
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

/**
 * Intents holding money are also looked at from Stripe's side, the newest this many per run,
 * made within this many days: one no Medusa payment rests on may have lost its session without
 * the plugin being told (Medusa drops a cart's sessions behind the provider's back when the cart
 * changes region, and cancelling its intent then may have failed).
 */
export const ORPHAN_SWEEP_DAYS = 7
export const ORPHAN_SWEEP_BATCH = 100

const STRIPE_PROVIDER_IDS: string[] = Object.values(PROVIDER_IDS)

export interface SweepDeps {
  stripe: Stripe
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
      await reconcileLogged(deps, row.intent)
      await deps.manager.query(
        `UPDATE payment SET data = data || jsonb_build_object('reconciled_at', $2::bigint) WHERE id = $1`,
        [row.id, Date.now()]
      )
    }
    const orphans = await heldIntentsWithoutPayment(deps)
    for (const intentId of orphans) {
      await reconcileLogged(deps, intentId)
    }
    return rows.length + orphans.length
  } finally {
    await lease.release()
  }
}

async function reconcileLogged(deps: SweepDeps, intentId: string): Promise<void> {
  try {
    const report = await deps.reconcile(intentId)
    const changes = [...report.fixed, ...report.flagged]
    if (changes.length > 0) {
      deps.logger.info(`${PLUGIN_NAME}: reconciled ${intentId}: ${changes.join("; ")}`)
    }
  } catch (error) {
    deps.logger.warn(`${PLUGIN_NAME}: could not reconcile ${intentId}: ${messageOf(error)}`)
  }
}

/** Recent intents of this plugin that hold money while no live Medusa payment rests on them. */
async function heldIntentsWithoutPayment(deps: SweepDeps): Promise<string[]> {
  const since = Math.floor(Date.now() / 1000) - ORPHAN_SWEEP_DAYS * 24 * 60 * 60
  const page = await deps.stripe.paymentIntents.list({
    created: { gte: since },
    limit: ORPHAN_SWEEP_BATCH,
  })
  const held = page.data
    .filter((intent) => intent.status === "requires_capture" || intent.status === "succeeded")
    .filter((intent) => typeof intent.metadata?.resource_id === "string")
    .map((intent) => intent.id)
  if (held.length === 0) {
    return []
  }
  const booked = (await deps.manager.query(
    `SELECT DISTINCT data->>'id' AS intent FROM payment
     WHERE provider_id = ANY($1) AND data->>'id' = ANY($2) AND canceled_at IS NULL`,
    [STRIPE_PROVIDER_IDS, held]
  )) as { intent: string }[]
  const bookedIds = new Set(booked.map((row) => row.intent))
  return held.filter((id) => !bookedIds.has(id))
}
