import type {
  ConfigModule,
  EventBusService,
  ICartCompletionStrategy,
  IdempotencyKey,
  IdempotencyKeyService,
  Logger,
  OrderService,
  PaymentCollectionService,
  PaymentProviderService,
  SwapService,
} from "@medusajs/medusa"
import type { PaymentRepository } from "@medusajs/medusa/dist/repositories/payment"
import type { RefundRepository } from "@medusajs/medusa/dist/repositories/refund"
import type Stripe from "stripe"
import type { EntityManager } from "typeorm"
import { PROVIDER_IDS } from "../constants"
import { formatStripeAmount } from "../core/amounts"
import { readCartTotal, withCartTotal, type CartTotalsReader } from "../core/cart-totals"
import { HELD_FUNDS_EXPAND, heldAmount } from "../core/held-funds"
import { parseSessionData, toSessionData } from "../core/session-data"
import { toSessionStatus } from "../core/status-mapping"
import { stripeClientFor } from "../core/stripe-client"
import {
  WEBHOOK_JOB_OPTIONS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_GIVEN_UP_ATTEMPTS,
  WEBHOOK_LAST_ROUND_ATTEMPTS,
  WEBHOOK_PATH,
  WEBHOOK_RECEIVED_EVENT,
  attemptOfDelivery,
  isFinalAttempt,
  isTransientDatabaseError,
  lostEventAge,
  nextRoundDelay,
  paymentIntentLockName,
  planWebhookEvent,
  resourceKind,
  toWebhookJob,
  type WebhookEventLike,
  type WebhookEventStatus,
  type WebhookJob,
  type WebhookPlan,
} from "../core/webhook-events"
import {
  LockTimeoutError,
  acquireAdvisoryLock,
  acquireAdvisoryLocks,
  poolsFor,
  type LockLease,
  type PgQueryable,
  type PluginPools,
} from "../core/advisory-lock"
import { LOCK_WAIT_MS } from "../core/webhook-lock"
import { paymentIntentsOf, type MoneyRouteOwner } from "../core/payment-bookings"
import { parseOptions, type ResolvedStripeOptions } from "../options"
import { eventIntakeFor, type RecordedEvent } from "../core/webhook-intake"
import { MedusaTableBooks } from "../reconcile/medusa-books"
import { PaymentIntentReconciler } from "../reconcile/reconciler"
import { sweepRecentPayments, type OrphanWalk } from "../reconcile/sweep"

const STRIPE_PROVIDER_IDS: string[] = Object.values(PROVIDER_IDS)

export const MISSING_SECRET_MESSAGE =
  'medusa-stripe-payments: option "webhook_secret" is not set, so Stripe webhooks cannot be verified. Set it (or STRIPE_WEBHOOK_SECRET) to the signing secret (whsec_...) of the Stripe webhook endpoint for POST /stripe/hooks.'

/** Whether this process has said that the endpoint's API version differs (said once). */
let apiVersionNoted = false

function assertNever(value: never): never {
  throw new Error(`Unhandled webhook action ${JSON.stringify(value)}`)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message || error.name
  }
  return typeof error === "string" ? error : JSON.stringify(error)
}

/** One failed attempt at an event; `final` once the event is left as failed. */
export class WebhookAttemptError extends Error {
  constructor(
    readonly eventId: string,
    readonly attempt: number,
    readonly final: boolean,
    readonly cause: unknown
  ) {
    super(`Stripe event ${eventId}, attempt ${attempt}: ${messageOf(cause)}`)
    this.name = "WebhookAttemptError"
  }
}

/**
 * Raised for an event about a cart or payment collection this database does not have: another
 * store (or a test backend) on the same Stripe account. It is acknowledged and ignored at once.
 */
export class ForeignResourceError extends Error {
  constructor(readonly resourceId: string) {
    super(
      `${resourceId} does not exist in this store's database (another store on the same Stripe account?)`
    )
    this.name = "ForeignResourceError"
  }
}

/** Raised when processing cannot finish yet; the event is tried again later. */
export class WebhookNotReadyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "WebhookNotReadyError"
  }
}

export type WebhookOutcome =
  | { status: "processed"; detail: string }
  | { status: "duplicate" }
  | { status: "ignored"; reason?: string }

interface SessionRow {
  id: string
  status: string
  data: Record<string, unknown>
}

interface OrderRow {
  id: string
  status: string
}

type Cradle = Record<string, unknown>

/** The slice of Medusa's event bus module (`@medusajs/event-bus-redis` or `-local`) used here. */
interface EventBusModule {
  emit(eventName: string, data: unknown, options?: Record<string, unknown>): Promise<void>
}

interface StalledEventRow {
  id: string
  type: string
  status: WebhookEventStatus
  attempts: number
  age_ms: number
}

/** Advisory lock held by the process sweeping stalled events. */
const SWEEP_LOCK = "stripe-webhook-sweep"

function isDue(row: StalledEventRow, intervalMs: number): boolean {
  if (row.status !== "failed") {
    return row.age_ms >= lostEventAge(intervalMs)
  }
  const delay = nextRoundDelay(Number(row.attempts), intervalMs)
  return delay !== undefined && row.age_ms >= delay
}

/**
 * Stripe webhooks: verification and intake for the route, a lock shared with the shopper's
 * own cart completion, and processing of each event, once, for the subscriber.
 *
 * Registered by Medusa as `stripeWebhookHandlerService`.
 */
export default class StripeWebhookHandlerService {
  protected readonly cradle_: Cradle
  protected readonly pluginOptions_: Record<string, unknown>
  private resolvedOptions_?: Readonly<ResolvedStripeOptions>
  /** The reconciliation sweep's place in Stripe's list of recent intents, from run to run. */
  private readonly orphanWalk_: OrphanWalk = {}

  constructor(cradle: Cradle, pluginOptions?: Record<string, unknown>) {
    this.cradle_ = cradle
    this.pluginOptions_ = pluginOptions ?? {}
  }

  // -----------------------------------------------------------------------------------------
  // Configuration

  /** The plugin options, validated on first use (throws `StripeOptionsError`). */
  get options(): Readonly<ResolvedStripeOptions> {
    if (!this.resolvedOptions_) {
      this.resolvedOptions_ = parseOptions(this.pluginOptions_)
    }
    return this.resolvedOptions_
  }

  get webhookSecret(): string | undefined {
    return this.options.webhookSecret
  }

  get stripe(): Stripe {
    return stripeClientFor(this.options)
  }

  protected resolve<T>(name: string): T {
    return this.cradle_[name] as T
  }

  protected get logger(): Logger {
    return this.resolve<Logger>("logger")
  }

  protected get manager(): EntityManager {
    return this.resolve<EntityManager>("manager")
  }

  protected get pools(): PluginPools {
    return poolsFor(this.resolve<ConfigModule>("configModule"), {
      locks: this.options.lockPoolSize,
      queries: this.options.queryPoolSize,
    })
  }

  // -----------------------------------------------------------------------------------------
  // Intake (the route)

  /**
   * Verifies `Stripe-Signature` over the exact bytes received, with the configured secret and
   * tolerance, and parses the event. Throws on any failure.
   */
  constructEvent(raw: Buffer, signature: unknown): Stripe.Event {
    const secret = this.webhookSecret
    if (!secret) {
      throw new Error(MISSING_SECRET_MESSAGE)
    }
    if (typeof signature !== "string" || signature.length === 0) {
      throw new Error("No Stripe-Signature header was sent")
    }
    const event = this.stripe.webhooks.constructEvent(
      raw,
      signature,
      secret,
      this.options.webhookTolerance
    )
    const record = event as unknown as Record<string, unknown>
    if (
      typeof record !== "object" ||
      record === null ||
      typeof record.id !== "string" ||
      typeof record.type !== "string" ||
      typeof record.data !== "object" ||
      record.data === null
    ) {
      throw new Error("The payload is not a Stripe event")
    }
    return event
  }

  /**
   * Says once per process when Stripe sends events in another API version than the plugin's.
   * Nothing breaks (every intent is read fresh in the plugin's version), but the endpoint's
   * snapshots then differ from what the plugin reads, and the dashboard shows them that way.
   */
  noteApiVersion(event: { api_version?: string | null }): void {
    const version = event.api_version
    if (!version || version === this.options.apiVersion || apiVersionNoted) {
      return
    }
    apiVersionNoted = true
    this.logger.warn(
      `medusa-stripe-payments: the Stripe webhook endpoint sends events in API version ${version}, the plugin uses ${this.options.apiVersion}. Events are only a hint (every intent is read fresh), but create the endpoint with the plugin's version: in the dashboard pick ${this.options.apiVersion}, or \`stripe webhook_endpoints create --url https://<backend>${WEBHOOK_PATH} --api-version ${this.options.apiVersion}\`.`
    )
  }

  /**
   * Records a verified delivery (once per event id; a redelivery only touches `updated_at`).
   * Deliveries arriving together are written in one statement (see EventIntake).
   */
  recordReceived(event: WebhookEventLike, plan: WebhookPlan): Promise<RecordedEvent> {
    return eventIntakeFor(this.pools.queries).record({
      id: event.id,
      type: event.type,
      resourceId: plan.resourceId ?? plan.paymentIntentId ?? null,
      status: plan.action === "ignore" ? "ignored" : "received",
    })
  }

  /**
   * Hands the event to the event bus module (Redis or local), with the retry options the Redis
   * bus honours. Medusa's `eventBusService` would stage the job in the database and forward it
   * up to three seconds later; the plugin's own table already keeps the event until it is
   * processed, and the retry sweep picks up any the bus loses.
   */
  async enqueue(event: WebhookEventLike, baseAttempts: number): Promise<void> {
    const job = toWebhookJob(event, baseAttempts)
    const options = { ...WEBHOOK_JOB_OPTIONS, backoff: { ...WEBHOOK_JOB_OPTIONS.backoff } }
    const bus = this.eventBusModule()
    if (bus) {
      await bus.emit(WEBHOOK_RECEIVED_EVENT, job, options)
    } else {
      await this.resolve<EventBusService>("eventBusService").emit(
        WEBHOOK_RECEIVED_EVENT,
        job,
        options
      )
    }
  }

  private eventBusModule(): EventBusModule | undefined {
    try {
      const bus = this.resolve<Partial<EventBusModule> | undefined>("eventBusModuleService")
      return typeof bus?.emit === "function" ? (bus as EventBusModule) : undefined
    } catch {
      return undefined
    }
  }

  // -----------------------------------------------------------------------------------------
  // Locks

  /** Takes the Postgres advisory lock `name`, shared by every process on the database. */
  acquireLock(name: string, waitMs: number = LOCK_WAIT_MS): Promise<LockLease> {
    return acquireAdvisoryLock(this.pools.locks, name, waitMs)
  }

  /** Takes several locks in one fixed order (see `acquireAdvisoryLocks`). */
  acquireLocks(names: readonly string[], waitMs: number = LOCK_WAIT_MS): Promise<LockLease> {
    return acquireAdvisoryLocks(this.pools.locks, names, waitMs)
  }

  /** The intents of the Stripe payments an admin route's `:id` names (see payment-bookings). */
  paymentIntentsOf(owner: MoneyRouteOwner, id: string): Promise<string[]> {
    return paymentIntentsOf(this.pools.queries, owner, id)
  }

  async withLock<T>(name: string, work: (lease: LockLease) => Promise<T>): Promise<T> {
    const lease = await this.acquireLock(name)
    try {
      return await work(lease)
    } finally {
      await lease.release()
    }
  }

  // -----------------------------------------------------------------------------------------
  // Retry sweep (a timer started by the plugin's loader)

  /**
   * Hands back to the event bus the events whose last round of attempts failed (once their
   * round's delay has passed) and those lost in `received` or `processing`. Stripe answered
   * their deliveries with 200 long ago and will not send them again, so each is fetched from
   * Stripe afresh. One process sweeps at a time; returns how many events were handed back.
   */
  async sweepStalledEvents(intervalMs = this.options.webhookRetryIntervalMs): Promise<number> {
    let lease: LockLease
    try {
      lease = await this.acquireLock(SWEEP_LOCK, 0)
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        return 0
      }
      throw error
    }
    try {
      const { rows } = await lease.client.query<StalledEventRow>(
        `SELECT id, type, status, attempts, (EXTRACT(EPOCH FROM now() - updated_at) * 1000)::float8 AS age_ms
         FROM stripe_webhook_event
         WHERE status IN ('received', 'processing')
            OR (status = 'failed' AND attempts <= $1)
         ORDER BY updated_at
         LIMIT 100`,
        [WEBHOOK_LAST_ROUND_ATTEMPTS]
      )
      let handedBack = 0
      for (const row of rows.filter((candidate) => isDue(candidate, intervalMs))) {
        const outcome = await this.handBack(lease.client, row)
        if (outcome === "stripe_unavailable") {
          // The others would wait on the same outage; the next sweep tries again.
          break
        }
        if (outcome === "handed_back") {
          handedBack += 1
        }
      }
      return handedBack
    } finally {
      await lease.release()
    }
  }

  /** One run of the reconciliation sweep (see `reconcile/sweep.ts`); the loader's timer calls it. */
  sweepReconciliation(): Promise<number> {
    return sweepRecentPayments({
      stripe: this.stripe,
      manager: this.manager,
      logger: this.logger,
      acquireLock: (name, waitMs) => this.acquireLock(name, waitMs),
      reconcile: (intentId) =>
        this.withLock(paymentIntentLockName(intentId), () => this.reconciler().call(intentId)),
      orphanWalk: this.orphanWalk_,
    })
  }

  private async handBack(
    client: PgQueryable,
    row: StalledEventRow
  ): Promise<"handed_back" | "skipped" | "stripe_unavailable"> {
    let event: Stripe.Event
    try {
      event = await this.stripe.events.retrieve(row.id)
    } catch (error) {
      // Missing at Stripe (older than Stripe keeps events, or never Stripe's): give it up.
      const missing = (error as { statusCode?: number }).statusCode === 404
      const reason = missing ? "Stripe no longer has this event" : "Could not fetch it from Stripe"
      await client.query(
        `UPDATE stripe_webhook_event
         SET status = 'failed', attempts = GREATEST(attempts, $3), last_error = $2, updated_at = now()
         WHERE id = $1 AND status = $4`,
        [
          row.id,
          `${reason}: ${messageOf(error)}`.slice(0, 4000),
          missing ? WEBHOOK_GIVEN_UP_ATTEMPTS : 0,
          row.status,
        ]
      )
      this.logger.warn(
        `medusa-stripe-payments: could not fetch Stripe event ${row.id} (${row.type}) to retry it: ${messageOf(error)}`
      )
      return missing ? "skipped" : "stripe_unavailable"
    }
    const { rowCount } = await client.query(
      `UPDATE stripe_webhook_event SET status = 'received', updated_at = now()
       WHERE id = $1 AND status = $2 AND attempts = $3`,
      [row.id, row.status, row.attempts]
    )
    if (!rowCount) {
      return "skipped"
    }
    await this.enqueue(event, Number(row.attempts))
    this.logger.info(
      `medusa-stripe-payments: Stripe event ${row.id} (${row.type}, ${row.status} after ${row.attempts} attempts) handed back for processing`
    )
    return "handed_back"
  }

  // -----------------------------------------------------------------------------------------
  // Processing (the subscriber)

  /**
   * One attempt at an event: under the lock of the resource it concerns, skip it when it was
   * processed already, else count the attempt, act, and record the outcome. A failure is
   * recorded on the event's row and rethrown as a {@link WebhookAttemptError}.
   */
  async handle(job: WebhookJob): Promise<WebhookOutcome> {
    const plan = planWebhookEvent({ id: job.id, type: job.type, data: { object: job.object } })
    if (plan.action === "ignore" || !plan.lockName) {
      await this.pools.queries.query(
        `UPDATE stripe_webhook_event SET status = 'ignored', processed_at = now(), updated_at = now()
         WHERE id = $1 AND status <> 'processed'`,
        [job.id]
      )
      return { status: "ignored", reason: plan.reason }
    }

    return this.withLock(plan.lockName, async (lease) => {
      const attempts = await this.beginAttempt(lease.client, job, plan)
      if (attempts === undefined) {
        return { status: "duplicate" as const }
      }
      const attempt = attemptOfDelivery(attempts, job.base_attempts)
      try {
        await this.assertOwnResource(plan)
        const detail = await this.run(plan)
        await lease.client.query(
          `UPDATE stripe_webhook_event
           SET status = 'processed', processed_at = now(), last_error = NULL, updated_at = now()
           WHERE id = $1`,
          [job.id]
        )
        this.logger.info(`medusa-stripe-payments: Stripe event ${job.id} (${job.type}): ${detail}`)
        return { status: "processed" as const, detail }
      } catch (error) {
        if (error instanceof ForeignResourceError) {
          await lease.client.query(
            `UPDATE stripe_webhook_event
             SET status = 'ignored', processed_at = now(), last_error = $2, updated_at = now()
             WHERE id = $1`,
            [job.id, error.message]
          )
          this.logger.info(
            `medusa-stripe-payments: Stripe event ${job.id} (${job.type}) ignored: ${error.message}`
          )
          return { status: "ignored" as const, reason: error.message }
        }
        const final = isFinalAttempt(attempt)
        const message = messageOf(error)
        // `received` while the event bus still has attempts left; `failed` waits for the sweep.
        await lease.client
          .query(
            `UPDATE stripe_webhook_event SET status = $3, last_error = $2, updated_at = now()
             WHERE id = $1`,
            [job.id, message.slice(0, 4000), final ? "failed" : "received"]
          )
          .catch((recordError: unknown) =>
            this.logger.warn(
              `medusa-stripe-payments: could not record the failure of Stripe event ${job.id}: ${messageOf(recordError)}`
            )
          )
        if (final) {
          const retry = this.options.webhookRetryIntervalMs > 0
          this.logger.error(
            `medusa-stripe-payments: Stripe event ${job.id} (${job.type}) failed ${attempt} times and is left as failed in stripe_webhook_event${retry ? " until the retry sweep hands it back" : ""}: ${message}`
          )
        } else {
          // Waiting for the shopper's own request to finish is routine, not a failure.
          const log = error instanceof WebhookNotReadyError ? this.logger.info : this.logger.warn
          log.call(
            this.logger,
            `medusa-stripe-payments: Stripe event ${job.id} (${job.type}) failed (attempt ${attempt} of ${WEBHOOK_MAX_ATTEMPTS}), it will be retried: ${message}`
          )
        }
        throw new WebhookAttemptError(job.id, attempt, final, error)
      }
    })
  }

  /** Counts an attempt; undefined when the event was processed (or ignored) already. */
  private async beginAttempt(
    client: PgQueryable,
    job: WebhookJob,
    plan: WebhookPlan
  ): Promise<number | undefined> {
    const { rows } = await client.query<{ attempts: number }>(
      `INSERT INTO stripe_webhook_event
         (id, type, resource_id, status, attempts, created_at, updated_at)
       VALUES ($1, $2, $3, 'processing', 1, now(), now())
       ON CONFLICT (id) DO UPDATE
         SET status = 'processing', attempts = stripe_webhook_event.attempts + 1, updated_at = now()
         WHERE stripe_webhook_event.status NOT IN ('processed', 'ignored')
       RETURNING attempts`,
      [job.id, job.type, plan.resourceId ?? plan.paymentIntentId ?? null]
    )
    return rows.length > 0 ? Number(rows[0].attempts) : undefined
  }

  /** Refuses events about a cart or payment collection this database has never had. */
  protected async assertOwnResource(plan: WebhookPlan): Promise<void> {
    const resourceId = plan.resourceId
    const kind = resourceKind(resourceId)
    if (!resourceId || !kind) {
      return
    }
    const table = kind === "cart" ? "cart" : "payment_collection"
    const rows = (await this.manager.query(`SELECT 1 FROM ${table} WHERE id = $1`, [
      resourceId,
    ])) as unknown[]
    if (rows.length === 0) {
      throw new ForeignResourceError(resourceId)
    }
  }

  protected async run(plan: WebhookPlan): Promise<string> {
    const resourceId = plan.resourceId ?? ""
    const paymentIntentId = plan.paymentIntentId ?? ""
    switch (plan.action) {
      case "complete_cart":
        return this.withReconciliation(
          paymentIntentId,
          await this.completeCart(resourceId, await this.currentIntent(paymentIntentId, resourceId))
        )
      case "authorize_collection":
        return this.withReconciliation(
          paymentIntentId,
          await this.authorizeCollection(
            resourceId,
            await this.currentIntent(paymentIntentId, resourceId)
          )
        )
      case "record_failure":
        return this.recordSessionOutcome(resourceId, paymentIntentId, "error")
      case "record_cancel":
        return this.withReconciliation(
          paymentIntentId,
          await this.recordSessionOutcome(resourceId, paymentIntentId, "canceled")
        )
      case "reconcile":
        // The event already holds the intent's lock.
        return this.reconciled(paymentIntentId)
      case "ignore":
        return "ignored"
    }
    return assertNever(plan.action)
  }

  /** The reconciler of one intent, on Medusa's tables and services. */
  reconciler(): PaymentIntentReconciler {
    const swaps = this.resolve<SwapService>("swapService")
    const providers = this.resolve<PaymentProviderService>("paymentProviderService")
    return new PaymentIntentReconciler({
      stripe: this.stripe,
      logger: this.logger,
      books: new MedusaTableBooks({
        manager: this.manager,
        logger: this.logger,
        orderService: this.resolve<OrderService>("orderService"),
        eventBusService: this.resolve<EventBusService>("eventBusService"),
        paymentRepository: this.resolve<typeof PaymentRepository>("paymentRepository"),
        refundRepository: this.resolve<typeof RefundRepository>("refundRepository"),
        processSwapDifference: (swapId) =>
          this.retryTransient(() => swaps.processDifference(swapId)),
        capturePayment: (paymentId) =>
          this.retryTransient(() => providers.capturePayment({ id: paymentId })),
      }),
    })
  }

  /**
   * Makes Medusa's books about the intent match Stripe (see `reconcile/`), under the intent's
   * own lock, which the admin route, the sweep and the intent's charge events take too.
   */
  protected withReconciliation(paymentIntentId: string, done?: string): Promise<string> {
    return this.withLock(paymentIntentLockName(paymentIntentId), () =>
      this.reconciled(paymentIntentId, done)
    )
  }

  /**
   * Reconciles the intent; the caller holds its lock. A difference Medusa may still settle
   * itself (a refund whose request is still running) makes the event wait.
   */
  protected async reconciled(paymentIntentId: string, done?: string): Promise<string> {
    const report = await this.reconciler().call(paymentIntentId)
    if (report.waiting.length > 0) {
      throw new WebhookNotReadyError(report.waiting.join("; "))
    }
    return (
      [done, ...report.fixed, ...report.flagged.map((issue) => `flagged: ${issue}`)]
        .filter(Boolean)
        .join("; ") || `${paymentIntentId} agrees with Medusa's books`
    )
  }

  /**
   * The intent as Stripe holds it now. An event is a snapshot that may be stale (redelivered,
   * out of order) or describe another resource, so money is only ever moved on Stripe's word.
   */
  protected async currentIntent(
    paymentIntentId: string,
    resourceId: string
  ): Promise<Stripe.PaymentIntent> {
    const intent = await this.stripe.paymentIntents.retrieve(paymentIntentId, {
      expand: HELD_FUNDS_EXPAND,
    })
    if (intent.metadata?.resource_id !== resourceId) {
      throw new Error(`PaymentIntent ${paymentIntentId} does not belong to ${resourceId}`)
    }
    return intent
  }

  // -----------------------------------------------------------------------------------------
  // complete_cart

  /**
   * Turns the cart into its order, unless the order exists already, the cart's selected
   * session holds another intent (then the reconciler decides what becomes of this one's
   * money) or Stripe no longer holds the intent's amount (a completion that ran out of stock
   * refunded it, or the dashboard did): no retry can authorize that. The caller holds the
   * cart's lock, which the shopper's completion request takes too.
   */
  async completeCart(cartId: string, intent: Stripe.PaymentIntent): Promise<string> {
    const paymentIntentId = intent.id
    let order = await this.findOrderByCart(cartId)
    let created = false
    if (!order) {
      const held = heldAmount(intent)
      if (held < intent.amount) {
        return `Stripe holds ${formatStripeAmount(held, intent.currency)} of the ${formatStripeAmount(intent.amount, intent.currency)} paid on ${paymentIntentId}, so cart ${cartId} is not completed with it`
      }
      const selected = (await this.manager.query(
        `SELECT 1 FROM payment_session WHERE cart_id = $1 AND is_selected AND data->>'id' = $2`,
        [cartId, paymentIntentId]
      )) as unknown[]
      if (selected.length === 0) {
        return `the selected payment session of cart ${cartId} does not hold ${paymentIntentId}`
      }
      const kind = await this.retryTransient(() => this.runCartCompletion(cartId))
      if (kind === "swap") {
        return `completed the swap of cart ${cartId}`
      }
      order = await this.findOrderByCart(cartId)
      if (!order) {
        throw new WebhookNotReadyError(`Completing cart ${cartId} produced no order`)
      }
      created = true
    }
    return created
      ? `created order ${order.id} for cart ${cartId}`
      : `order ${order.id} exists for cart ${cartId}`
  }

  protected async findOrderByCart(cartId: string): Promise<OrderRow | undefined> {
    const rows = (await this.manager.query(`SELECT id, status FROM "order" WHERE cart_id = $1`, [
      cartId,
    ])) as OrderRow[]
    return rows[0]
  }

  /** Drives `CartCompletionStrategy` as `POST /store/carts/:id/complete` does. */
  protected async runCartCompletion(cartId: string): Promise<"order" | "swap"> {
    const [cart] = (await this.manager.query(`SELECT context FROM cart WHERE id = $1`, [
      cartId,
    ])) as { context: Record<string, unknown> | null }[]
    if (!cart) {
      throw new Error(`Cart ${cartId} does not exist`)
    }
    const idempotencyKey = await this.completionKey(cartId)
    const strategy = this.resolve<ICartCompletionStrategy>("cartCompletionStrategy")
    // The shopper's address, as the cart recorded it; the request comes from Stripe.
    const ip = typeof cart.context?.ip === "string" ? cart.context.ip : ""
    // Read before Medusa opens the completion's transaction (see cart-totals).
    const total = await readCartTotal(this.resolve<CartTotalsReader>("cartService"), cartId)
    const { response_code, response_body } = await withCartTotal(total, () =>
      strategy.complete(cartId, idempotencyKey, { ip })
    )
    const kind = response_body.type
    if (response_code === 200 && (kind === "order" || kind === "swap")) {
      return kind
    }
    const status =
      typeof response_body.payment_status === "string" ? response_body.payment_status : undefined
    const message = typeof response_body.message === "string" ? response_body.message : undefined
    throw new WebhookNotReadyError(
      `Cart ${cartId} was not completed (${response_code}${status ? `, payment ${status}` : ""}${message ? `: ${message}` : ""})`
    )
  }

  /**
   * The idempotency key of the webhook's completion of a cart. A key left `finished` without
   * an order (the payment was not authorized then) is started over: the caller holds the
   * cart's lock and knows no order exists.
   */
  protected async completionKey(cartId: string): Promise<IdempotencyKey> {
    const service = this.resolve<IdempotencyKeyService>("idempotencyKeyService")
    const interrupted = await this.interruptedCompletionKey(cartId)
    if (interrupted) {
      return service.retrieve(interrupted)
    }
    const name = `stripe-webhook:${cartId}`
    const existing = await service.retrieve(name).catch(() => undefined)
    if (!existing) {
      return service.create({
        idempotency_key: name,
        request_method: "POST",
        request_params: { id: cartId },
        request_path: WEBHOOK_PATH,
      })
    }
    if (existing.recovery_point === "finished") {
      return service.update(name, {
        recovery_point: "started",
        response_code: null as unknown as number,
        response_body: null as unknown as Record<string, unknown>,
      })
    }
    return existing
  }

  /**
   * The idempotency key of a completion of the cart that was cut off (a crash, a killed
   * process) after Medusa recorded the authorized payment and before it wrote the order. Only
   * that key can finish the cart: a fresh completion would try to record the payment again and
   * fail on the cart's existing payment. The caller holds the cart's lock, so no live request
   * is working on the key.
   */
  async interruptedCompletionKey(cartId: string): Promise<string | undefined> {
    const rows = (await this.manager.query(
      `SELECT k.idempotency_key
       FROM payment p
       JOIN idempotency_key k
         ON k.request_params ->> 'id' = p.cart_id AND k.recovery_point = 'payment_authorized'
       WHERE p.cart_id = $1 AND p.canceled_at IS NULL AND p.order_id IS NULL AND p.swap_id IS NULL
       ORDER BY k.created_at DESC
       LIMIT 1`,
      [cartId]
    )) as { idempotency_key: string }[]
    return rows[0]?.idempotency_key
  }

  protected async retryTransient<T>(work: () => Promise<T>, tries = 5): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work()
      } catch (error) {
        if (attempt >= tries || !isTransientDatabaseError(error)) {
          throw error
        }
        await sleep(50 * 2 ** attempt + Math.round(Math.random() * 50))
      }
    }
  }

  // -----------------------------------------------------------------------------------------
  // authorize_collection

  async authorizeCollection(collectionId: string, intent: Stripe.PaymentIntent): Promise<string> {
    const service = this.resolve<PaymentCollectionService>("paymentCollectionService")
    const collection = await service.retrieve(collectionId, {
      relations: ["payment_sessions", "payments"],
    })
    const session = (collection.payment_sessions ?? []).find(
      (candidate) => (candidate.data as Record<string, unknown> | null)?.id === intent.id
    )
    if (!session) {
      throw new WebhookNotReadyError(
        `Payment collection ${collectionId} has no session for ${intent.id}`
      )
    }
    let detail = `session ${session.id} of ${collectionId} was authorized already`
    if (!session.payment_authorized_at && session.status !== "authorized") {
      const updated = await this.retryTransient(() =>
        service.authorizePaymentSessions(collectionId, [session.id])
      )
      const after = (updated.payment_sessions ?? []).find((s) => s.id === session.id)
      if (after?.status !== "authorized") {
        throw new WebhookNotReadyError(
          `Session ${session.id} of ${collectionId} is ${after?.status ?? "missing"} after authorization`
        )
      }
      detail = `authorized session ${session.id} of ${collectionId}`
    }
    return detail
  }

  // -----------------------------------------------------------------------------------------
  // record_failure / record_cancel

  /**
   * Records a declined or canceled intent on its payment sessions, so the storefront shows
   * Stripe's message. The intent is read again first: an event older than a later success is
   * not allowed to mark a session failed.
   */
  async recordSessionOutcome(
    resourceId: string,
    paymentIntentId: string,
    outcome: "error" | "canceled"
  ): Promise<string> {
    const intent = await this.stripe.paymentIntents.retrieve(paymentIntentId)
    const status = toSessionStatus(intent)
    if (status !== outcome) {
      return `${paymentIntentId} is now ${intent.status}; nothing to record`
    }
    const byCart = resourceId.startsWith("cart_")
    const sessions = (await this.manager.query(
      `SELECT id, status, data FROM payment_session
       WHERE provider_id = ANY($1) AND data->>'id' = $2 ${byCart ? "AND cart_id = $3" : ""}`,
      byCart
        ? [STRIPE_PROVIDER_IDS, paymentIntentId, resourceId]
        : [STRIPE_PROVIDER_IDS, paymentIntentId]
    )) as SessionRow[]
    const updated: string[] = []
    for (const session of sessions) {
      if (session.status === "authorized") {
        continue
      }
      let previous
      try {
        previous = parseSessionData(session.data)
      } catch {
        previous = undefined
      }
      await this.manager.query(
        `UPDATE payment_session SET status = $2, data = $3, updated_at = now() WHERE id = $1`,
        [session.id, outcome, JSON.stringify(toSessionData(intent, previous))]
      )
      updated.push(session.id)
    }
    const reason = intent.last_payment_error?.message
    return updated.length > 0
      ? `payment session ${updated.join(", ")} of ${resourceId} is ${outcome}${reason && outcome === "error" ? ` (${reason})` : ""}`
      : `no open payment session of ${resourceId} holds ${paymentIntentId}`
  }
}
