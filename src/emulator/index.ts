import type Stripe from "stripe"
import "./dependencies"
import { Charges } from "./charges"
import {
  DEFAULT_HOLD_MS,
  Faults,
  RequestStats,
  type FailNextOptions,
  type FailureRateOptions,
  type FaultKind,
  type FaultTiming,
  type RequestLogEntry,
} from "./controls"
import { controlHandler } from "./control-api"
import { Customers, PaymentMethods } from "./customers"
import { EventLog, type EmulatedEvent } from "./events"
import { IdempotencyKeys } from "./idempotency"
import { readSnapshot, SNAPSHOT_VERSION, StateFile, type EmulatorSnapshot } from "./persistence"
import { clone, type Params } from "./params"
import { PaymentIntents } from "./payment-intents"
import { randomIds, randomToken, type IdGenerator } from "./random"
import { Disputes, Refunds, type RefundFailureMode } from "./refunds"
import { RouteTable } from "./routes"
import { loadSpec } from "./schema"
import { EmulatorServer } from "./server"
import { SetupIntents } from "./setup-intents"
import { Store, type Core, type RequestContext } from "./store"
import {
  Webhooks,
  type AddEndpointInput,
  type WebhookConfig,
  type WebhookDelivery,
  type WebhookRetryOptions,
} from "./webhooks"
import { EmulatorControlError } from "./errors"

export interface StripeEmulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** Milliseconds since the epoch, for `created` timestamps and key expiry (default Date.now). */
  clock?: () => number
  /** Seed of the random source behind failure rates (default 1). */
  seed?: number
  /** Webhook retries: attempts (default 5) and the first delay, doubled each time (100 ms). */
  webhookRetry?: Partial<WebhookRetryOptions>
  /** Per-attempt timeout of webhook deliveries (default 10 s). */
  webhookTimeoutMs?: number
  /** Makes object ids (default: random, like Stripe's). */
  idGenerator?: IdGenerator
  /** How long a `timeout` fault holds a request before dropping it (default 30 s). */
  faultHoldMs?: number
  /** How many requests the request log keeps (default 10 000). */
  requestLogLimit?: number
  /** Load Stripe's OpenAPI document before listening instead of on the first request. */
  preloadSchema?: boolean
  /**
   * Keep the account in this JSON file: read at start when it exists, written shortly after
   * every request or control and at stop, so that a restarted emulator still knows the
   * customers and PaymentIntents a database refers to. Webhook endpoints, faults and the
   * request log are not kept. An unreadable file fails the start with an EmulatorStateError.
   */
  stateFile?: string
  /** Called when the state file cannot be written (default: a line on stderr). */
  onStateFileError?: (error: unknown) => void
}

export interface ConfirmAsShopperParams {
  payment_method?: string
  payment_method_data?: Record<string, unknown>
  return_url?: string
  off_session?: boolean
  payment_method_options?: Record<string, unknown>
}

/** Fault injection on API requests. Route matchers are labels such as `POST /v1/refunds`. */
export interface FaultControls {
  setLatency(ms: number, route?: string): void
  setFailureRate(rate: number, options?: FailureRateOptions): void
  failNext(count: number, options: FailNextOptions): void
  clear(): void
  describe(): ReturnType<Faults["describe"]>
}

export interface WebhookControls {
  addEndpoint(input: AddEndpointInput): { id: string; secret: string }
  removeEndpoint(id: string): void
  endpoints(): ReturnType<Webhooks["endpoints"]>
  pause(): void
  resume(): void
  /** Delivers everything queued and waits for all deliveries, retries included. */
  flush(): Promise<void>
  configure(config: Partial<WebhookConfig>): WebhookConfig
  /** The next `count` events are delivered twice. */
  duplicateNext(count?: number): void
  deliveries(): WebhookDelivery[]
  /** Sends the event again to its endpoints and waits for the result. */
  redeliver(eventId: string): Promise<WebhookDelivery[]>
}

/** Everything the emulator holds, as plain Stripe objects. */
export interface EmulatorState {
  payment_intents: Stripe.PaymentIntent[]
  charges: Stripe.Charge[]
  refunds: Stripe.Refund[]
  customers: (Stripe.Customer | Stripe.DeletedCustomer)[]
  payment_methods: Stripe.PaymentMethod[]
  setup_intents: Stripe.SetupIntent[]
  disputes: Stripe.Dispute[]
  events: Stripe.Event[]
  webhook_endpoints: Stripe.WebhookEndpoint[]
}

export const EMULATOR_HOST = "127.0.0.1"

function shopperContext(): RequestContext {
  return { requestId: `req_${randomToken(14)}`, idempotencyKey: null }
}

/**
 * A stateful Stripe API emulator on 127.0.0.1, spoken to by the real `stripe` SDK over HTTP,
 * with controls for what shoppers, banks and the network do.
 */
export class StripeEmulator {
  readonly host = EMULATOR_HOST
  private portNumber = 0
  private readonly store: Store
  private readonly eventLog: EventLog
  private readonly webhookService: Webhooks
  private readonly intents: PaymentIntents
  private readonly refundService: Refunds
  private readonly disputeService: Disputes
  private readonly setupIntentService: SetupIntents
  private readonly faultService: Faults
  private readonly stats: RequestStats
  private readonly idempotency: IdempotencyKeys
  private readonly server: EmulatorServer
  private readonly stateFile: StateFile | undefined
  private stopped = false

  readonly faults: FaultControls
  readonly webhooks: WebhookControls

  static async start(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
    if (options.preloadSchema) loadSpec()
    const saved = options.stateFile ? readSnapshot(options.stateFile) : undefined
    const emulator = new StripeEmulator(options)
    if (saved) emulator.restore(saved)
    emulator.portNumber = await emulator.server.listen(options.port ?? 0, EMULATOR_HOST)
    return emulator
  }

  /** How far the account's clock is moved from the injected one (see {@link shiftClock}). */
  private clockOffsetMs = 0

  private constructor(options: StripeEmulatorOptions) {
    const baseClock = options.clock ?? Date.now
    const clock = () => baseClock() + this.clockOffsetMs
    this.store = new Store(clock, options.idGenerator ?? randomIds)
    this.webhookService = new Webhooks(this.store, {
      attempts: options.webhookRetry?.attempts ?? 5,
      baseDelayMs: options.webhookRetry?.baseDelayMs ?? 100,
      maxDelayMs: options.webhookRetry?.maxDelayMs ?? 5_000,
    })
    if (options.webhookTimeoutMs !== undefined) {
      this.webhookService.configure({ timeoutMs: options.webhookTimeoutMs })
    }
    this.eventLog = new EventLog(this.store, (event) => this.webhookService.enqueue(event))
    const core: Core = {
      store: this.store,
      emit: (type, object, ctx, previous) => {
        this.eventLog.emit(type, object, ctx, previous)
        this.stateFile?.touch()
      },
      baseUrl: () => this.url,
    }
    const methods: PaymentMethods = new PaymentMethods(core, () => customers)
    const customers: Customers = new Customers(core, () => methods)
    const charges = new Charges(core)
    this.disputeService = new Disputes(core, charges)
    this.intents = new PaymentIntents(core, customers, methods, charges, (charge) => {
      this.disputeService.create(charge.id)
    })
    this.refundService = new Refunds(core, charges, this.intents)
    this.setupIntentService = new SetupIntents(core, customers, methods)
    this.faultService = new Faults(options.seed ?? 1, options.faultHoldMs ?? DEFAULT_HOLD_MS)
    this.stats = new RequestStats(options.requestLogLimit)
    this.idempotency = new IdempotencyKeys(clock)
    const routes = new RouteTable({
      store: this.store,
      customers,
      paymentMethods: methods,
      paymentIntents: this.intents,
      charges,
      refunds: this.refundService,
      disputes: this.disputeService,
      setupIntents: this.setupIntentService,
      events: this.eventLog,
      webhooks: this.webhookService,
    })
    const control = controlHandler(this)
    this.server = new EmulatorServer({
      routes,
      faults: this.faultService,
      stats: this.stats,
      idempotency: this.idempotency,
      control: options.stateFile
        ? async (...args) => {
            try {
              return await control(...args)
            } finally {
              this.stateFile?.touch()
            }
          }
        : control,
    })
    if (options.stateFile) {
      const onError =
        options.onStateFileError ??
        ((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error)
          process.stderr.write(`stripe-emulator: cannot write ${options.stateFile}: ${message}\n`)
        })
      this.stateFile = new StateFile(options.stateFile, () => this.snapshot(), onError)
      this.stats.subscribe(() => this.stateFile?.touch())
    }
    const faults = this.faultService
    this.faults = {
      setLatency: (ms, route) => faults.setLatency(ms, route),
      setFailureRate: (rate, opts) => faults.setFailureRate(rate, opts),
      failNext: (count, opts) => faults.failNext(count, opts),
      clear: () => faults.clear(),
      describe: () => faults.describe(),
    }
    const hooks = this.webhookService
    this.webhooks = {
      addEndpoint: (input) => hooks.addEndpoint(input),
      removeEndpoint: (id) => hooks.removeEndpoint(id),
      endpoints: () => hooks.endpoints(),
      pause: () => hooks.pause(),
      resume: () => hooks.resume(),
      flush: () => hooks.flush(),
      configure: (config) => hooks.configure(config),
      duplicateNext: (count) => hooks.duplicateNext(count),
      deliveries: () => hooks.deliveries(),
      redeliver: (eventId) => {
        const event = this.eventLog.get(eventId)
        if (!event)
          return Promise.reject(new EmulatorControlError(`No such event: '${eventId}'`, 404))
        return hooks.redeliver(event)
      },
    }
  }

  get port(): number {
    return this.portNumber
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://${this.host}:${this.portNumber}`
  }

  /** Options to spread into `new Stripe(key, { ... })`. */
  stripeConfig(): { host: string; port: number; protocol: "http" } {
    return { host: this.host, port: this.portNumber, protocol: "http" }
  }

  /** Where the account is kept between runs (the `stateFile` option), if anywhere. */
  get stateFilePath(): string | undefined {
    return this.stateFile?.file
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.webhookService.stop()
    await this.server.close()
    this.stateFile?.flush()
  }

  /**
   * The account's objects, events and saved idempotency results, as JSON; {@link restore}
   * takes it back. Webhook endpoints, faults, counters and the request log are not in it.
   */
  snapshot(): EmulatorSnapshot {
    return {
      version: SNAPSHOT_VERSION,
      saved_at: Date.now(),
      store: this.store.snapshot(),
      idempotency_keys: this.idempotency.entries(),
    }
  }

  /** Replaces the account's data with a snapshot's; webhook endpoints and controls stay. */
  restore(snapshot: EmulatorSnapshot): void {
    this.store.restore(snapshot.store)
    this.idempotency.restore(snapshot.idempotency_keys)
    this.stateFile?.touch()
  }

  /**
   * Forgets all objects, events, idempotency keys, faults, counters, the request log and
   * webhook deliveries. Webhook endpoints stay unless `webhookEndpoints` is true.
   */
  reset(options: { webhookEndpoints?: boolean } = {}): void {
    this.store.clear(options)
    this.idempotency.clear()
    this.faultService.clear()
    this.stats.resetCounters()
    this.stats.clearLog()
    this.webhookService.reset()
    this.refundService.reset()
    this.clockOffsetMs = 0
    this.stateFile?.touch()
  }

  /**
   * Moves the account's clock by `ms` (negative: back), as Stripe's test clocks do: objects made
   * afterwards carry `created` times that far from now, e.g. a refund that looks a minute old.
   */
  shiftClock(ms: number): void {
    this.clockOffsetMs += ms
  }

  // -------------------------------------------------------------------------------------------
  // What shoppers, banks and the Dashboard do

  /** Confirms as Stripe.js would; declines resolve with the intent in requires_payment_method. */
  async confirmPaymentIntent(
    id: string,
    params: ConfirmAsShopperParams = {}
  ): Promise<Stripe.PaymentIntent> {
    return clone(this.intents.confirmAsShopper(id, { ...params } as Params, shopperContext()))
  }

  /** Completes 3D Secure, a bank redirect or a BLIK approval (PaymentIntent or SetupIntent). */
  async completeAction(id: string): Promise<Stripe.PaymentIntent | Stripe.SetupIntent> {
    if (id.startsWith("seti_"))
      return clone(this.setupIntentService.completeAction(id, shopperContext()))
    return clone(this.intents.completeAction(id, shopperContext()))
  }

  /** Fails 3D Secure or a bank redirect. */
  async failAction(id: string): Promise<Stripe.PaymentIntent | Stripe.SetupIntent> {
    if (id.startsWith("seti_"))
      return clone(this.setupIntentService.failAction(id, shopperContext()))
    return clone(this.intents.failAction(id, shopperContext()))
  }

  /** Settles a processing debit; without `succeed` the payment method decides (test IBANs). */
  async settleProcessing(
    id: string,
    options: { succeed?: boolean } = {}
  ): Promise<Stripe.PaymentIntent> {
    return clone(this.intents.settle(id, options.succeed))
  }

  /** Opens a chargeback on a charge or on a PaymentIntent's latest charge. */
  async createDispute(
    chargeOrIntentId: string,
    options: { reason?: string; amount?: number } = {}
  ): Promise<Stripe.Dispute> {
    return clone(this.disputeService.create(chargeOrIntentId, options))
  }

  /** The bank's decision on a dispute: funds reinstated (`won`) or kept by the cardholder. */
  async closeDispute(id: string, outcome: "won" | "lost"): Promise<Stripe.Dispute> {
    return clone(this.disputeService.close(id, outcome))
  }

  /** A refund made in the Dashboard: no metadata, no API request behind its events. */
  async refundFromDashboard(intentId: string, amount?: number): Promise<Stripe.Refund> {
    return clone(this.refundService.fromDashboard(intentId, amount))
  }

  /** Makes the next refund fail: `error` answers 400 balance_insufficient, `failed` creates a failed refund. */
  failNextRefund(mode: RefundFailureMode = "error"): void {
    this.refundService.failNext(mode)
  }

  // -------------------------------------------------------------------------------------------
  // State (deep copies)

  paymentIntents(): Stripe.PaymentIntent[] {
    return clone([...this.store.paymentIntents.values()])
  }

  paymentIntent(id: string): Stripe.PaymentIntent | undefined {
    const intent = this.store.paymentIntents.get(id)
    return intent ? clone(intent) : undefined
  }

  charges(): Stripe.Charge[] {
    return clone([...this.store.charges.values()])
  }

  charge(id: string): Stripe.Charge | undefined {
    const charge = this.store.charges.get(id)
    return charge ? clone(charge) : undefined
  }

  refunds(): Stripe.Refund[] {
    return clone([...this.store.refunds.values()])
  }

  customers(): (Stripe.Customer | Stripe.DeletedCustomer)[] {
    return clone([...this.store.customers.values()])
  }

  paymentMethods(): Stripe.PaymentMethod[] {
    return clone([...this.store.paymentMethods.values()])
  }

  setupIntents(): Stripe.SetupIntent[] {
    return clone([...this.store.setupIntents.values()])
  }

  disputes(): Stripe.Dispute[] {
    return clone([...this.store.disputes.values()])
  }

  /** Events, oldest first; `type` may end in `.*`. */
  events(type?: string): Stripe.Event[] {
    const all = this.eventLog.all()
    const matching = type
      ? all.filter(
          (event) =>
            event.type === type || (type.endsWith(".*") && event.type.startsWith(type.slice(0, -1)))
        )
      : all
    return clone(matching) as unknown as Stripe.Event[]
  }

  event(id: string): Stripe.Event | undefined {
    const event = this.eventLog.get(id)
    return event ? (clone(event) as unknown as Stripe.Event) : undefined
  }

  state(): EmulatorState {
    return {
      payment_intents: this.paymentIntents(),
      charges: this.charges(),
      refunds: this.refunds(),
      customers: this.customers(),
      payment_methods: this.paymentMethods(),
      setup_intents: this.setupIntents(),
      disputes: this.disputes(),
      events: this.events(),
      webhook_endpoints: clone(
        [...this.store.webhookEndpoints.values()].map((stored) => stored.endpoint)
      ),
    }
  }

  // -------------------------------------------------------------------------------------------
  // Accounting

  /** Requests per route label, e.g. `{ "POST /v1/payment_intents": 3 }`. */
  counters(): Record<string, number> {
    return this.stats.counters()
  }

  resetCounters(): void {
    this.stats.resetCounters()
  }

  requestLog(): RequestLogEntry[] {
    return this.stats.log()
  }

  /** Calls `listener` after every API request; returns a function that stops it. */
  onRequest(listener: (entry: RequestLogEntry) => void): () => void {
    return this.stats.subscribe(listener)
  }

  clearRequestLog(): void {
    this.stats.clearLog()
  }
}

export type { EmulatedEvent }
export type {
  FailNextOptions,
  FailureRateOptions,
  FaultKind,
  FaultTiming,
  RequestLogEntry,
  RefundFailureMode,
  AddEndpointInput,
  WebhookConfig,
  WebhookDelivery,
  WebhookRetryOptions,
  IdGenerator,
}
export { EmulatorControlError } from "./errors"
export { EmulatorStateError, type EmulatorSnapshot } from "./persistence"
export { StripeEmulatorClient } from "./client"
export {
  SCHEMA_EXCEPTIONS,
  validateComponent,
  validateOperationResponse,
  toJsonSchema,
  type SchemaCheck,
  type SchemaException,
} from "./schema"
export { signatureHeader } from "./webhooks"
export { seededIds } from "./random"
export { TEST_PAYMENT_METHODS, PAYMENT_METHOD_TYPES } from "./payment-methods"
export { API_VERSION } from "./events"
