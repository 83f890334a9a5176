import http from "http"
import Stripe from "stripe"

import { WEBHOOK_PATH, sleep, waitFor, type Db, type StripeEmulator } from "../../__tests__/support"
import { processCpuMs } from "./load"
import { adminStep, checkoutOnce, type Shop } from "./shop"
import { msSince, summarize, type Summary } from "./stats"

/** Event types the plugin acts on; every other type is acknowledged and ignored. */
const HANDLED = new Set([
  "payment_intent.amount_capturable_updated",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
  "charge.refunded",
  "charge.dispute.created",
])

const signer = new Stripe("sk_test_bench_signer")

export interface IngestionResult {
  deliveries: number
  concurrency: number
  seconds: number
  acksPerSecond: number
  /** Acknowledge latency (request sent -> response read), ms. */
  latency: Summary
  byKind: Record<string, { deliveries: number; latency: Summary }>
  /** CPU the backend process spent per delivery, ms. */
  backendCpuMsPerDelivery: number
  /** Responses other than 2xx, by status. */
  failures: Record<string, number>
  /** The real `payment_intent.succeeded` duplicated, and the types of the ignored events. */
  duplicateOf: string
  unknownTypes: string[]
}

export interface TabClosedResult {
  carts: number
  /** Signed delivery sent -> order row visible in the database, ms. */
  deliveryToOrder: Summary
  ackMs: Summary
}

export interface WebhookResult {
  ingestion: IngestionResult
  /** The same client and concurrency against requests that do less, for comparison. */
  reference: ReferenceRun[]
  tabClosed: TabClosedResult
}

interface Response {
  status: number
  ms: number
}

interface SendOptions {
  method: "GET" | "POST"
  path: string
  payload?: string
  signature?: string
}

function send(agent: http.Agent, url: URL, options: SendOptions): Promise<Response> {
  const body = options.payload === undefined ? undefined : Buffer.from(options.payload)
  const headers: Record<string, string> = {
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
  }
  if (body) {
    headers["content-type"] = "application/json; charset=utf-8"
    headers["content-length"] = String(body.length)
  }
  if (options.signature !== undefined) headers["stripe-signature"] = options.signature
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: options.path,
        method: options.method,
        headers,
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: msSince(started) }))
        res.on("error", reject)
      }
    )
    req.setTimeout(30_000, () => req.destroy(new Error("request timed out")))
    req.on("error", reject)
    req.end(body)
  })
}

function deliver(agent: http.Agent, url: URL, payload: string, secret: string): Promise<Response> {
  const signature = signer.webhooks.generateTestHeaderString({ payload, secret })
  return send(agent, url, { method: "POST", path: url.pathname, payload, signature })
}

interface Sample {
  kind: string
  status: number
  ms: number
}

/** `count` requests, `concurrency` at a time; `next(i)` makes request i. */
async function blast(
  count: number,
  concurrency: number,
  next: (index: number) => { kind: string; request: () => Promise<Response> }
): Promise<{ samples: Sample[]; seconds: number }> {
  const samples: Sample[] = []
  let index = 0
  const started = process.hrtime.bigint()
  const worker = async () => {
    while (index < count) {
      const { kind, request } = next(index++)
      try {
        samples.push({ kind, ...(await request()) })
      } catch {
        samples.push({ kind, status: 0, ms: Number.NaN })
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { samples, seconds: msSince(started) / 1000 }
}

export interface ReferenceRun {
  label: string
  requests: number
  perSecond: number
  latency: Summary
  backendCpuMsPerRequest: number
  statuses: Record<string, number>
}

function eventAbout(emulator: StripeEmulator, type: string, intentId: string): Stripe.Event {
  const found = emulator.events(type).filter((event) => {
    const object = event.data.object as { id?: string }
    return object.id === intentId
  })
  const last = found[found.length - 1]
  if (!last) {
    throw new Error(`The emulator has no ${type} event for ${intentId}`)
  }
  return last
}

const pretty = (event: unknown) => JSON.stringify(event, null, 2)

export interface WebhookOptions {
  deliveries: number
  warmup: number
  concurrency: number
  tabClosedCarts: number
  secret: string
  db: Db
  emailTag: string
  /** The backend process, for its CPU time. */
  pid: number
}

/**
 * Signed deliveries as Stripe makes them, to 127.0.0.1 only: half are duplicates of a real
 * `payment_intent.succeeded` the backend has already processed, half are event types the
 * plugin does not handle (each with its own id, as Stripe sends them).
 */
export async function measureWebhooks(shop: Shop, options: WebhookOptions): Promise<WebhookResult> {
  const url = new URL(WEBHOOK_PATH, shop.store.baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency })
  try {
    const paid = await checkoutOnce(shop, { email: `hooks-${options.emailTag}@example.com` })
    if (!paid.orderId || !paid.intentId) throw new Error("The webhook checkout made no order")
    await adminStep(shop, "capture", paid.orderId)
    const succeeded = eventAbout(shop.emulator, "payment_intent.succeeded", paid.intentId)
    const succeededPayload = pretty(succeeded)
    const first = await deliver(agent, url, succeededPayload, options.secret)
    if (first.status !== 200) throw new Error(`The first delivery answered ${first.status}`)
    await waitFor(
      async () => {
        const row = await options.db.one<{ status: string }>(
          "SELECT status FROM stripe_webhook_event WHERE id = $1",
          [succeeded.id]
        )
        return row?.status === "processed" || row?.status === "ignored"
      },
      { timeoutMs: 60_000, intervalMs: 50, description: `event ${succeeded.id} processed` }
    )

    const templates = new Map<string, Stripe.Event>()
    for (const event of shop.emulator.events()) {
      if (!HANDLED.has(event.type) && !templates.has(event.type)) templates.set(event.type, event)
    }
    const unknown = [...templates.values()]
    if (unknown.length === 0) throw new Error("The emulator has no unhandled event to replay")
    let sequence = 0
    const unknownPayload = () => {
      const template = unknown[sequence % unknown.length]
      sequence += 1
      return pretty({
        ...template,
        id: `evt_bench${options.emailTag}${sequence.toString().padStart(7, "0")}`,
        created: Math.floor(Date.now() / 1000),
      })
    }

    const run = (count: number) =>
      blast(count, options.concurrency, (index) => {
        const kind = index % 2 === 0 ? "duplicate" : "unknown"
        const payload = kind === "duplicate" ? succeededPayload : unknownPayload()
        return { kind, request: () => deliver(agent, url, payload, options.secret) }
      })

    await run(options.warmup)
    await sleep(500)
    const cpuBefore = processCpuMs(options.pid)
    const { samples, seconds } = await run(options.deliveries)
    const backendCpuMsPerDelivery =
      (processCpuMs(options.pid) - cpuBefore) / Math.max(1, samples.length)
    const failures: Record<string, number> = {}
    for (const s of samples) {
      if (s.status < 200 || s.status >= 300) {
        failures[String(s.status)] = (failures[String(s.status)] ?? 0) + 1
      }
    }
    const ok = samples.filter((s) => s.status >= 200 && s.status < 300)
    const byKind: IngestionResult["byKind"] = {}
    for (const kind of ["duplicate", "unknown"]) {
      const of = ok.filter((s) => s.kind === kind)
      byKind[kind] = { deliveries: of.length, latency: summarize(of.map((s) => s.ms)) }
    }
    const ingestion: IngestionResult = {
      deliveries: samples.length,
      concurrency: options.concurrency,
      seconds,
      acksPerSecond: ok.length / seconds,
      latency: summarize(ok.map((s) => s.ms)),
      byKind,
      backendCpuMsPerDelivery,
      failures,
      duplicateOf: succeeded.type,
      unknownTypes: unknown.map((e) => e.type),
    }

    // The same load on Medusa's own /health (every global middleware, no route work) and on
    // the webhook route with a forged signature (refused before any database work).
    const reference: ReferenceRun[] = []
    const forged = (payload: string) =>
      signer.webhooks.generateTestHeaderString({ payload, secret: "whsec_forged_bench_00000000" })
    const references: { label: string; request: () => Promise<Response> }[] = [
      {
        label: "GET /health (Medusa's floor: global middlewares only)",
        request: () => send(agent, url, { method: "GET", path: "/health" }),
      },
      {
        label: "POST /stripe/hooks, forged signature (refused with 400 before the database)",
        request: () =>
          send(agent, url, {
            method: "POST",
            path: url.pathname,
            payload: succeededPayload,
            signature: forged(succeededPayload),
          }),
      },
    ]
    for (const ref of references) {
      await blast(options.warmup, options.concurrency, () => ({
        kind: "ref",
        request: ref.request,
      }))
      const cpu0 = processCpuMs(options.pid)
      const { samples: refSamples, seconds: refSeconds } = await blast(
        options.deliveries,
        options.concurrency,
        () => ({ kind: "ref", request: ref.request })
      )
      const statuses: Record<string, number> = {}
      for (const sample of refSamples) {
        statuses[String(sample.status)] = (statuses[String(sample.status)] ?? 0) + 1
      }
      reference.push({
        label: ref.label,
        requests: refSamples.length,
        perSecond: refSamples.length / refSeconds,
        latency: summarize(refSamples.map((sample) => sample.ms)),
        backendCpuMsPerRequest: (processCpuMs(options.pid) - cpu0) / Math.max(1, refSamples.length),
        statuses,
      })
    }

    const tabClosed = await measureTabClosed(shop, agent, url, options)
    return { ingestion, reference, tabClosed }
  } finally {
    agent.destroy()
  }
}

/**
 * The shopper confirms and closes the tab: nobody calls complete. The signed
 * `payment_intent.amount_capturable_updated` is delivered and the time until the order row
 * exists is measured.
 */
async function measureTabClosed(
  shop: Shop,
  agent: http.Agent,
  url: URL,
  options: WebhookOptions
): Promise<TabClosedResult> {
  const toOrder: number[] = []
  const acks: number[] = []
  for (let i = 0; i < options.tabClosedCarts; i++) {
    const run = await checkoutOnce(shop, {
      email: `tab-${options.emailTag}-${i}@example.com`,
      skipComplete: true,
    })
    if (!run.intentId) throw new Error("The tab-closed checkout has no PaymentIntent")
    const event = eventAbout(
      shop.emulator,
      "payment_intent.amount_capturable_updated",
      run.intentId
    )
    const started = process.hrtime.bigint()
    const ack = await deliver(agent, url, pretty(event), options.secret)
    if (ack.status !== 200) throw new Error(`Tab-closed delivery answered ${ack.status}`)
    acks.push(ack.ms)
    await waitFor(
      async () =>
        (await options.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [run.cartId])) >
        0,
      { timeoutMs: 60_000, intervalMs: 20, description: `an order for ${run.cartId}` }
    )
    toOrder.push(msSince(started))
    await sleep(200)
  }
  return { carts: toOrder.length, deliveryToOrder: summarize(toOrder), ackMs: summarize(acks) }
}
