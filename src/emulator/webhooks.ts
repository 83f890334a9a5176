import { createHmac } from "crypto"
import http from "http"
import https from "https"
import type Stripe from "stripe"
import { invalidRequest, resourceMissing } from "./errors"
import { typeMatches, type EmulatedEvent } from "./events"
import { paginate, type ListObject } from "./listing"
import { applyMetadata, str, strings, type Params } from "./params"
import { randomToken } from "./random"
import type { Store, StoredEndpoint } from "./store"

/** `t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<payload>")>`, what `constructEvent` verifies. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const signature = createHmac("sha256", secret)
    .update(`${timestamp}.${payload}`, "utf8")
    .digest("hex")
  return `t=${timestamp},v1=${signature}`
}

export interface WebhookRetryOptions {
  /** Attempts per delivery, the first included (default 5). */
  attempts: number
  /** Delay before the first retry, doubled for each next one (default 100 ms). */
  baseDelayMs: number
  /** Upper bound of the delay between attempts (default 5 s). */
  maxDelayMs: number
}

export interface WebhookConfig {
  /** Extra copies of every event (each one is delivered `duplicates + 1` times). */
  duplicates: number
  /** Deliver queued events newest first when they are released (resume / flush). */
  reorder: boolean
  /** Wait this long before the first attempt of each delivery. */
  delayMs: number
  /** Per-attempt timeout. */
  timeoutMs: number
}

export interface DeliveryAttempt {
  at: number
  status: number | null
  error: string | null
  durationMs: number
}

export interface WebhookDelivery {
  id: string
  eventId: string
  type: string
  endpointId: string
  url: string
  status: "queued" | "pending" | "succeeded" | "failed"
  attempts: DeliveryAttempt[]
  /** A copy sent because of the duplicates setting or `duplicateNext`. */
  duplicate: boolean
  /** Sent by `redeliver`. */
  redelivery: boolean
}

export interface AddEndpointInput {
  url: string
  secret?: string
  enabledEvents?: string[]
  description?: string
}

interface Job {
  delivery: WebhookDelivery
  event: EmulatedEvent
  notBefore: number
}

const DEFAULT_CONFIG: WebhookConfig = {
  duplicates: 0,
  reorder: false,
  delayMs: 0,
  timeoutMs: 10_000,
}

/**
 * Webhook endpoints and event delivery: signed POSTs, retries with backoff, and controls to
 * pause, duplicate, reorder and delay deliveries. First attempts go out one at a time in
 * queue order; retries run on their own.
 */
export class Webhooks {
  private config: WebhookConfig = { ...DEFAULT_CONFIG }
  private paused = false
  private duplicateNextCount = 0
  private readonly queue: Job[] = []
  private readonly log: WebhookDelivery[] = []
  private readonly running = new Set<Promise<void>>()
  private chain: Promise<void> = Promise.resolve()
  private readonly timers = new Map<NodeJS.Timeout, () => void>()
  private readonly requests = new Set<http.ClientRequest>()
  private stopped = false
  private readonly httpAgent = new http.Agent({ keepAlive: true })
  private readonly httpsAgent = new https.Agent({ keepAlive: true })

  constructor(
    private readonly store: Store,
    private readonly retry: WebhookRetryOptions,
    private readonly wallClock: () => number = Date.now
  ) {}

  // -------------------------------------------------------------------------------------------
  // Endpoints (API objects)

  addEndpoint(input: AddEndpointInput): { id: string; secret: string } {
    const stored = this.createEndpoint(
      {
        url: input.url,
        enabled_events: input.enabledEvents ?? ["*"],
        ...(input.description ? { description: input.description } : {}),
      },
      input.secret
    )
    return { id: stored.endpoint.id, secret: stored.secret }
  }

  private createEndpoint(params: Params, secret?: string): StoredEndpoint {
    const url = str(params, "url") ?? ""
    if (!/^https?:\/\/[^\s]+$/.test(url)) {
      throw invalidRequest(`Invalid URL: ${url}`, { param: "url" })
    }
    const endpoint: Stripe.WebhookEndpoint = {
      id: this.store.id("we"),
      object: "webhook_endpoint",
      api_version: str(params, "api_version") ?? null,
      application: null,
      created: this.store.now(),
      description: str(params, "description") ?? null,
      enabled_events: strings(params, "enabled_events") ?? ["*"],
      livemode: false,
      metadata: applyMetadata({}, params),
      status: "enabled",
      url,
    }
    const stored = { endpoint, secret: secret ?? `whsec_${randomToken(32)}` }
    this.store.webhookEndpoints.set(endpoint.id, stored)
    return stored
  }

  /** `POST /v1/webhook_endpoints`: the only response that shows the secret. */
  create(params: Params): Stripe.WebhookEndpoint {
    const stored = this.createEndpoint(params)
    return { ...stored.endpoint, secret: stored.secret }
  }

  retrieve(id: string): Stripe.WebhookEndpoint {
    const stored = this.store.webhookEndpoints.get(id)
    if (!stored) throw resourceMissing("webhook_endpoint", id)
    return stored.endpoint
  }

  update(id: string, params: Params): Stripe.WebhookEndpoint {
    const endpoint = this.retrieve(id)
    const url = str(params, "url")
    if (url !== undefined) {
      if (!/^https?:\/\/[^\s]+$/.test(url))
        throw invalidRequest(`Invalid URL: ${url}`, { param: "url" })
      endpoint.url = url
    }
    const events = strings(params, "enabled_events")
    if (events) endpoint.enabled_events = events
    const description = str(params, "description")
    if (description !== undefined) endpoint.description = description || null
    if (params.disabled !== undefined)
      endpoint.status = params.disabled === true ? "disabled" : "enabled"
    if (params.metadata !== undefined) endpoint.metadata = applyMetadata(endpoint.metadata, params)
    return endpoint
  }

  delete(id: string): Stripe.DeletedWebhookEndpoint {
    this.retrieve(id)
    this.store.webhookEndpoints.delete(id)
    return { id, object: "webhook_endpoint", deleted: true }
  }

  list(params: Params): ListObject<Stripe.WebhookEndpoint> {
    const items = [...this.store.webhookEndpoints.values()].map((stored) => stored.endpoint)
    return paginate(items, params, "/v1/webhook_endpoints")
  }

  endpoints(): {
    id: string
    url: string
    secret: string
    enabledEvents: string[]
    status: string
  }[] {
    return [...this.store.webhookEndpoints.values()].map(({ endpoint, secret }) => ({
      id: endpoint.id,
      url: endpoint.url,
      secret,
      enabledEvents: [...endpoint.enabled_events],
      status: endpoint.status,
    }))
  }

  removeEndpoint(id: string): void {
    this.store.webhookEndpoints.delete(id)
  }

  // -------------------------------------------------------------------------------------------
  // Controls

  configure(config: Partial<WebhookConfig>): WebhookConfig {
    this.config = { ...this.config, ...config }
    return { ...this.config }
  }

  settings(): WebhookConfig & { paused: boolean } {
    return { ...this.config, paused: this.paused }
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.release()
  }

  /** The next `count` events are each delivered one extra time. */
  duplicateNext(count = 1): void {
    this.duplicateNextCount += count
  }

  /** Releases everything queued (even while paused) and waits until no delivery is in flight. */
  async flush(): Promise<void> {
    this.release()
    while (this.running.size > 0) {
      await Promise.all([...this.running])
      if (!this.paused) this.release()
    }
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((delivery) => ({
      ...delivery,
      attempts: delivery.attempts.map((attempt) => ({ ...attempt })),
    }))
  }

  /** Sends an event again to every endpoint that subscribes to it, and waits for the outcome. */
  async redeliver(event: EmulatedEvent): Promise<WebhookDelivery[]> {
    const jobs = this.matchingEndpoints(event).map((stored) =>
      this.job(event, stored, { duplicate: false, redelivery: true })
    )
    const runs = jobs.map((job) => this.track(this.deliver(job)))
    await Promise.all(runs)
    const ids = new Set(jobs.map((job) => job.delivery.id))
    return this.deliveries().filter((delivery) => ids.has(delivery.id))
  }

  /** Forgets deliveries, queue and settings (endpoints stay). */
  reset(): void {
    this.queue.length = 0
    this.log.length = 0
    this.config = { ...DEFAULT_CONFIG, timeoutMs: this.config.timeoutMs }
    this.paused = false
    this.duplicateNextCount = 0
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer)
      wake()
    }
    this.timers.clear()
    for (const request of this.requests) request.destroy()
    this.requests.clear()
    this.queue.length = 0
    this.httpAgent.destroy()
    this.httpsAgent.destroy()
    await Promise.allSettled([...this.running])
  }

  // -------------------------------------------------------------------------------------------
  // Delivery

  private matchingEndpoints(event: EmulatedEvent): StoredEndpoint[] {
    return [...this.store.webhookEndpoints.values()].filter(
      ({ endpoint }) =>
        endpoint.status === "enabled" &&
        endpoint.enabled_events.some((pattern) => typeMatches(pattern, event.type))
    )
  }

  private job(
    event: EmulatedEvent,
    stored: StoredEndpoint,
    flags: { duplicate: boolean; redelivery: boolean }
  ): Job {
    const delivery: WebhookDelivery = {
      id: `whdel_${randomToken(20)}`,
      eventId: event.id,
      type: event.type,
      endpointId: stored.endpoint.id,
      url: stored.endpoint.url,
      status: "queued",
      attempts: [],
      ...flags,
    }
    this.log.push(delivery)
    return { delivery, event, notBefore: this.wallClock() + this.config.delayMs }
  }

  /** Queues an event for every subscribed endpoint; returns how many endpoints that is. */
  enqueue(event: EmulatedEvent): number {
    if (this.stopped) return 0
    const endpoints = this.matchingEndpoints(event)
    if (endpoints.length === 0) return 0
    let copies = 1 + this.config.duplicates
    if (this.duplicateNextCount > 0) {
      this.duplicateNextCount -= 1
      copies += 1
    }
    for (const stored of endpoints) {
      for (let copy = 0; copy < copies; copy++) {
        this.queue.push(this.job(event, stored, { duplicate: copy > 0, redelivery: false }))
      }
    }
    if (!this.paused) this.release()
    return endpoints.length
  }

  private release(): void {
    if (this.queue.length === 0) return
    const batch = this.queue.splice(0, this.queue.length)
    if (this.config.reorder) batch.reverse()
    for (const job of batch) {
      this.track(this.deliver(job))
    }
  }

  private track(run: Promise<void>): Promise<void> {
    const tracked = run.catch(() => undefined)
    this.running.add(tracked)
    void tracked.then(() => this.running.delete(tracked))
    return tracked
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        resolve()
      }, ms)
      this.timers.set(timer, resolve)
    })
  }

  /** First attempt in queue order, then retries with exponential backoff. */
  private async deliver(job: Job): Promise<void> {
    const { delivery } = job
    let first: () => void = () => undefined
    const previous = this.chain
    this.chain = new Promise<void>((resolve) => {
      first = resolve
    })
    try {
      await previous
      await this.sleep(job.notBefore - this.wallClock())
      delivery.status = "pending"
      let ok = await this.attempt(job)
      first()
      for (let n = 1; !ok && n < this.retry.attempts && !this.stopped; n++) {
        await this.sleep(Math.min(this.retry.baseDelayMs * 2 ** (n - 1), this.retry.maxDelayMs))
        if (this.stopped) break
        ok = await this.attempt(job)
      }
      delivery.status = ok ? "succeeded" : "failed"
      if (ok && !delivery.duplicate && !delivery.redelivery) {
        const stored = this.store.events.get(job.event.id) as unknown as EmulatedEvent | undefined
        if (stored && stored.pending_webhooks > 0) stored.pending_webhooks -= 1
      }
    } finally {
      first()
    }
  }

  private attempt(job: Job): Promise<boolean> {
    const stored = this.store.webhookEndpoints.get(job.delivery.endpointId)
    const secret = stored?.secret ?? ""
    const payload = JSON.stringify(job.event, null, 2)
    const timestamp = Math.floor(this.wallClock() / 1000)
    const started = Date.now()
    const record = (status: number | null, error: string | null): boolean => {
      job.delivery.attempts.push({ at: started, status, error, durationMs: Date.now() - started })
      return status !== null && status >= 200 && status < 300
    }
    return new Promise<boolean>((resolve) => {
      let url: URL
      try {
        url = new URL(job.delivery.url)
      } catch {
        resolve(record(null, `Invalid URL: ${job.delivery.url}`))
        return
      }
      const secure = url.protocol === "https:"
      const request = (secure ? https : http).request(
        url,
        {
          method: "POST",
          agent: secure ? this.httpsAgent : this.httpAgent,
          timeout: this.config.timeoutMs,
          headers: {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": Buffer.byteLength(payload),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signatureHeader(payload, secret, timestamp),
          },
        },
        (response) => {
          response.resume()
          response.on("end", () => {
            this.requests.delete(request)
            resolve(record(response.statusCode ?? null, null))
          })
          response.on("error", (error) => {
            this.requests.delete(request)
            resolve(record(response.statusCode ?? null, error.message))
          })
        }
      )
      this.requests.add(request)
      request.on("timeout", () =>
        request.destroy(new Error(`Timed out after ${this.config.timeoutMs} ms`))
      )
      request.on("error", (error) => {
        this.requests.delete(request)
        resolve(record(null, error.message))
      })
      request.end(payload)
    })
  }
}
