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
 * Intents holding money are also looked at from Stripe's side, made within this many days: one
 * no Medusa payment rests on may have lost its session without the plugin being told (Medusa
 * drops a cart's sessions behind the provider's back when the cart changes region, and
 * cancelling its intent then may have failed). Each run reads up to this many pages of this
 * many intents, resuming where the previous run stopped, so a shop making more intents than
 * one page between runs still has every recent intent looked at.
 */
export const ORPHAN_SWEEP_DAYS = 7
export const ORPHAN_SWEEP_BATCH = 100
export const ORPHAN_SWEEP_PAGES = 5

/**
 * Where the walk through Stripe's recent intents (listed newest first) resumes: after this
 * intent, or from the newest when the previous run reached the end of the window.
 */
export interface OrphanWalk {
  startingAfter?: string
}

const STRIPE_PROVIDER_IDS: string[] = Object.values(PROVIDER_IDS)

export interface SweepDeps {
  stripe: Stripe
  manager: Pick<EntityManager, "query">
  logger: Pick<Logger, "info" | "warn">
  acquireLock(name: string, waitMs: number): Promise<LockLease>
  /** Reconciles one intent under its lock. */
  reconcile(paymentIntentId: string): Promise<ReconcileReport>
  /** Kept by the caller from one run to the next. */
  orphanWalk: OrphanWalk
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

/**
 * Intents of this plugin, among the next pages of the walk, that hold money while no live Medusa
 * payment rests on them.
 */
async function heldIntentsWithoutPayment(deps: SweepDeps): Promise<string[]> {
  const walk = deps.orphanWalk
  const since = Math.floor(Date.now() / 1000) - ORPHAN_SWEEP_DAYS * 24 * 60 * 60
  const held: string[] = []
  for (let pages = 0; pages < ORPHAN_SWEEP_PAGES; pages++) {
    const page = await listIntents(deps.stripe, since, walk)
    held.push(
      ...page.data
        .filter((intent) => intent.status === "requires_capture" || intent.status === "succeeded")
        .filter((intent) => typeof intent.metadata?.resource_id === "string")
        .map((intent) => intent.id)
    )
    const last = page.data[page.data.length - 1]
    walk.startingAfter = page.has_more && last ? last.id : undefined
    if (walk.startingAfter === undefined) {
      break
    }
  }
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

async function listIntents(
  stripe: Stripe,
  since: number,
  walk: OrphanWalk
): Promise<Stripe.ApiList<Stripe.PaymentIntent>> {
  const params: Stripe.PaymentIntentListParams = {
    created: { gte: since },
    limit: ORPHAN_SWEEP_BATCH,
  }
  if (walk.startingAfter === undefined) {
    return stripe.paymentIntents.list(params)
  }
  try {
    return await stripe.paymentIntents.list({ ...params, starting_after: walk.startingAfter })
  } catch (error) {
    // The intent the walk stopped at left the window (or the account): start again from the newest.
    if ((error as { code?: unknown }).code !== "resource_missing") {
      throw error
    }
    walk.startingAfter = undefined
    return stripe.paymentIntents.list(params)
  }
}
