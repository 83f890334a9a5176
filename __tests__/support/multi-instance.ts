import http from "http"
import { seededRandom } from "../../src/emulator/random"

import { freePort, type Backend } from "./backend"
import { checkout, findVariantIds } from "./checkout"
import { connectDb } from "./db"
import { WEBHOOK_PATH, bootE2E, emulatorOf, type E2E } from "./e2e"
import { addWebhookEndpoint, type StripeEmulator } from "./emulator"
import { ApiClient, adminClient, storeClient, type AdminClient } from "./http"
import type { Cart } from "./store-types"
import { sleep, waitFor } from "./wait"

/**
 * Several backend processes on one database with the Redis event bus, as a store runs them in
 * production: `worker_mode: "server"` instances answer the storefront, the admin and Stripe's
 * webhooks, `worker_mode: "worker"` instances run the event subscribers (Medusa reads
 * MEDUSA_WORKER_MODE when medusa-config.js does not set `worker_mode`). Stripe's deliveries
 * go through a small proxy that hands each one to a server instance picked at random.
 */

export const CAPTURE_ROUTE = "POST /v1/payment_intents/:id/capture"

export interface WebhookProxy {
  url: string
  /** Deliveries forwarded to each target URL. */
  perTarget(): Record<string, number>
  /** Answers the proxy passed back to the emulator, by status (0: no answer from the backend). */
  statuses(): Record<number, number>
  close(): Promise<void>
}

/** Forwards every POST to `<target>/stripe/hooks` of a target picked with `random`. */
export async function startWebhookProxy(
  targets: string[],
  random: () => number
): Promise<WebhookProxy> {
  const perTarget: Record<string, number> = {}
  const statuses: Record<number, number> = {}
  const port = await freePort()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const target = targets[Math.floor(random() * targets.length)]
      perTarget[target] = (perTarget[target] ?? 0) + 1
      const headers: Record<string, string> = {}
      for (const name of ["content-type", "stripe-signature", "user-agent"]) {
        const value = req.headers[name]
        if (typeof value === "string") headers[name] = value
      }
      fetch(`${target}${WEBHOOK_PATH}`, {
        method: "POST",
        headers,
        body: Buffer.concat(chunks),
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (answer) => {
          const body = await answer.text()
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
          res.writeHead(answer.status, { "content-type": "application/json" })
          res.end(body)
        })
        .catch((error: unknown) => {
          statuses[0] = (statuses[0] ?? 0) + 1
          res.writeHead(502, { "content-type": "text/plain" })
          res.end(error instanceof Error ? error.message : String(error))
        })
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  return {
    url: `http://127.0.0.1:${port}`,
    perTarget: () => ({ ...perTarget }),
    statuses: () => ({ ...statuses }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface ConnectionSampler {
  /** Highest count of connections to the database seen so far. */
  peak(): number
  stop(): Promise<number>
}

/**
 * Counts the connections to `database` in pg_stat_activity every `intervalMs`, on a
 * connection of its own (not counted), leaving out the backend pids in `exclude` (the
 * caller's own clients).
 */
export async function sampleConnections(
  url: string,
  database: string,
  intervalMs = 100,
  exclude: number[] = []
): Promise<ConnectionSampler> {
  const db = await connectDb(url)
  let peak = 0
  let running = true
  const loop = (async () => {
    while (running) {
      try {
        const n = await db.count(
          `SELECT count(*) FROM pg_stat_activity
           WHERE datname = $1 AND pid <> pg_backend_pid() AND NOT (pid = ANY($2::int[]))`,
          [database, exclude]
        )
        peak = Math.max(peak, n)
      } catch {
        // the database may be going away
      }
      await sleep(intervalMs)
    }
  })()
  return {
    peak: () => peak,
    async stop() {
      running = false
      await loop
      await db.close()
      return peak
    },
  }
}

export interface Cluster {
  e2e: E2E
  emulator: StripeEmulator
  servers: Backend[]
  workers: Backend[]
  proxy: WebhookProxy
  /** Logged in on the first server. */
  admin: AdminClient
  random: () => number
  seed: number
  shutdown(): Promise<void>
}

export interface ClusterOptions {
  servers?: number
  workers?: number
  seed?: number
  /** STRIPE_CAPTURE for every instance (default false: the merchant captures). */
  capture?: boolean
  log?: (line: string) => void
}

/** One database, one emulator, `servers` + `workers` backends on the Redis event bus. */
export async function bootCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const seed = options.seed ?? 1
  const random = seededRandom(seed)
  const log = options.log ?? (() => undefined)
  const e2e = await bootE2E({
    emulator: true,
    redis: true,
    webhooks: false,
    startBackend: false,
    env: { STRIPE_CAPTURE: options.capture ? "true" : "false" },
  })
  let proxy: WebhookProxy | undefined
  try {
    const emulator = emulatorOf(e2e)
    const servers: Backend[] = []
    const workers: Backend[] = []
    // One at a time: four Medusa boots at once on two cores take longer than in turn.
    for (let i = 0; i < (options.servers ?? 2); i++) {
      servers.push(await e2e.startBackend({ env: { MEDUSA_WORKER_MODE: "server" } }))
      log(`server ${i + 1} pid ${servers[i].pid} on ${servers[i].url} (${servers[i].bootMs} ms)`)
    }
    for (let i = 0; i < (options.workers ?? 2); i++) {
      workers.push(await e2e.startBackend({ env: { MEDUSA_WORKER_MODE: "worker" } }))
      log(`worker ${i + 1} pid ${workers[i].pid} (${workers[i].bootMs} ms)`)
    }
    proxy = await startWebhookProxy(
      servers.map((s) => s.url),
      random
    )
    addWebhookEndpoint(emulator, proxy.url, e2e.env.STRIPE_WEBHOOK_SECRET)
    const admin = adminClient(servers[0].url)
    await admin.login()
    const started = proxy
    return {
      e2e,
      emulator,
      servers,
      workers,
      proxy,
      admin,
      random,
      seed,
      async shutdown() {
        await started.close().catch(() => undefined)
        await e2e.shutdown()
      },
    }
  } catch (err) {
    await proxy?.close().catch(() => undefined)
    await e2e.shutdown().catch(() => undefined)
    throw err
  }
}

/** How the shopper of a cart ends the checkout once Stripe has the payment. */
export type Ending = "webhook-only" | "complete" | "complete-twice"

export interface RequestOutcome {
  label: string
  /** HTTP status, or 0 when no answer came within the request timeout. */
  status: number
  ms: number
  detail?: string
}

export interface MultiInstanceRun {
  seed: number
  checkouts: number
  capture: boolean
  /** Carts Stripe holds a payment for (confirmed at the emulator). */
  paid: number
  endings: Record<Ending, number>
  seconds: number
  /** From the first cart to the last order. */
  checkoutsPerSecond: number
  /** Storefront and admin requests by status. */
  statuses: Record<string, number>
  fiveHundreds: RequestOutcome[]
  hung: RequestOutcome[]
  /** Requests or shoppers that failed otherwise (4xx where none is expected, thrown errors). */
  failures: string[]
  /** Orders per paid cart: how many carts had 0, 1, 2... orders. */
  ordersPerCart: Record<number, number>
  /** Carts with no order or with more than one. */
  wrongOrders: { cartId: string; orders: number }[]
  capturesRequested: number
  /** Captures Stripe carried out at the backends' request (idempotent replays not counted). */
  captureCalls: number
  /** Intents with more than one capture Stripe carried out. */
  doubleCaptures: { intentId: string; captures: number }[]
  /** Orders the merchant captured whose payment is not captured in Medusa or at Stripe. */
  uncaptured: string[]
  /** Webhook deliveries: total, duplicates, per server instance, answers. */
  deliveries: {
    total: number
    duplicates: number
    perServer: number[]
    statuses: Record<number, number>
  }
  /** stripe_webhook_event rows by status at the end. */
  webhookEvents: Record<string, number>
  peakConnections: number
  /** Log lines of the backends that mention an error (the first ones). */
  errorLogs: string[]
}

export interface MultiInstanceOptions {
  checkouts: number
  /** Extra copies of every event (default 1: each event is delivered twice). */
  duplicates?: number
  /** Shoppers at once (default all). */
  concurrency?: number
  /** Per request (default 60 s); a request without an answer by then counts as hung. */
  timeoutMs?: number
  log?: (line: string) => void
}

function bump(map: Record<string, number>, key: string | number): void {
  map[key] = (map[key] ?? 0) + 1
}

const ENDINGS: Ending[] = ["webhook-only", "complete", "complete-twice"]

/**
 * `checkouts` shoppers at once, each on a server instance picked at random: cart, payment
 * session, confirmation at Stripe, then (by turns) nothing (the tab is closed: only the
 * webhook can complete the cart), one completion on a random server, or two at once on
 * both servers. Stripe's events are held while the shoppers run and delivered in batches,
 * newest first, each one `duplicates + 1` times, every copy to a random server. Then the
 * merchant captures half of the orders, pressing capture on both servers at once.
 */
export async function runMultiInstanceCheckouts(
  cluster: Cluster,
  options: MultiInstanceOptions
): Promise<MultiInstanceRun> {
  const { emulator, servers, e2e } = cluster
  const log = options.log ?? (() => undefined)
  const timeoutMs = options.timeoutMs ?? 60_000
  const pick = <T>(list: T[]): T => list[Math.floor(cluster.random() * list.length)]
  const variants = await findVariantIds(storeClient(servers[0].url))
  const statuses: Record<string, number> = {}
  const fiveHundreds: RequestOutcome[] = []
  const hung: RequestOutcome[] = []
  const failures: string[] = []
  const endings: Record<Ending, number> = { "webhook-only": 0, complete: 0, "complete-twice": 0 }

  const send = async (
    client: ApiClient,
    method: string,
    path: string,
    label: string
  ): Promise<RequestOutcome> => {
    const started = Date.now()
    let outcome: RequestOutcome
    try {
      const res = await client.request(method, path, undefined, { timeoutMs })
      outcome = {
        label,
        status: res.status,
        ms: Date.now() - started,
        detail: res.ok ? undefined : JSON.stringify(res.body).slice(0, 300),
      }
    } catch (error) {
      outcome = {
        label,
        status: 0,
        ms: Date.now() - started,
        detail: error instanceof Error ? error.message : String(error),
      }
    }
    bump(statuses, outcome.status === 0 ? "no answer" : outcome.status)
    if (outcome.status === 0) hung.push(outcome)
    else if (outcome.status >= 500) fiveHundreds.push(outcome)
    return outcome
  }

  emulator.webhooks.configure({ duplicates: options.duplicates ?? 1, reorder: true })
  emulator.webhooks.pause()
  const own = await e2e.db.one<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)
  const sampler = await sampleConnections(e2e.db.url, e2e.database.name, 100, own ? [own.pid] : [])
  // Stripe's events go out in batches, newest first, while the shoppers run.
  let releasing = true
  const releaser = (async () => {
    while (releasing) {
      await sleep(1500)
      emulator.webhooks.resume()
      emulator.webhooks.pause()
    }
  })()

  const started = Date.now()
  const carts: { cartId: string; intentId: string; ending: Ending }[] = []
  const shopper = async (index: number): Promise<void> => {
    const ending = ENDINGS[index % ENDINGS.length]
    const home = pick(servers)
    let cart: Cart
    try {
      cart = await checkout(storeClient(home.url), {
        region: "eur",
        provider: "stripe",
        variantId: variants[index % variants.length],
        email: `multi-${index}@example.com`,
      })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      failures.push(`shopper ${index}, checkout on ${home.url}: ${message}`)
      if (/-> 5\d\d/.test(message)) {
        fiveHundreds.push({ label: `checkout ${index}`, status: 500, ms: 0, detail: message })
      }
      return
    }
    const intentId = cart.payment_session?.data.id
    if (typeof intentId !== "string") {
      failures.push(`shopper ${index}: cart ${cart.id} has no PaymentIntent`)
      return
    }
    try {
      const confirmed = await emulator.confirmPaymentIntent(intentId, {
        payment_method: "pm_card_visa",
      })
      if (!["requires_capture", "succeeded"].includes(confirmed.status)) {
        failures.push(`shopper ${index}: ${intentId} is ${confirmed.status} after confirmation`)
        return
      }
    } catch (error) {
      failures.push(`shopper ${index}: confirming ${intentId}: ${String(error)}`)
      return
    }
    carts.push({ cartId: cart.id, intentId, ending })
    endings[ending] += 1
    const complete = (server: Backend) =>
      send(
        storeClient(server.url),
        "POST",
        `/store/carts/${cart.id}/complete`,
        `complete ${cart.id}`
      )
    const answers =
      ending === "webhook-only"
        ? []
        : ending === "complete"
          ? [await complete(pick(servers))]
          : await Promise.all(servers.map(complete))
    for (const answer of answers) {
      if (answer.status !== 0 && answer.status !== 200 && answer.status < 500) {
        failures.push(`shopper ${index}: ${answer.label} -> ${answer.status} ${answer.detail}`)
      }
    }
  }

  const concurrency = Math.max(1, options.concurrency ?? options.checkouts)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, options.checkouts) }, async () => {
      while (next < options.checkouts) {
        await shopper(next++)
      }
    })
  )
  log(`${carts.length} carts paid at Stripe after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  releasing = false
  await releaser
  emulator.webhooks.resume()
  await emulator.webhooks.flush()

  const cartIds = carts.map((c) => c.cartId)
  const countOrders = async () =>
    e2e.db.query<{ cart_id: string; n: string }>(
      `SELECT cart_id, count(*) AS n FROM "order" WHERE cart_id = ANY($1) GROUP BY cart_id`,
      [cartIds]
    )
  await waitFor(async () => (await countOrders()).length === carts.length, {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: `orders for all ${carts.length} paid carts`,
  }).catch((error: unknown) => failures.push(String(error)))
  const seconds = (Date.now() - started) / 1000
  log(`orders after ${seconds.toFixed(1)} s`)

  // The merchant captures half of the orders, on both servers at once.
  const orders = await e2e.db.query<{ id: string; cart_id: string }>(
    `SELECT id, cart_id FROM "order" WHERE cart_id = ANY($1)`,
    [cartIds]
  )
  const orderOf = new Map(orders.map((o) => [o.cart_id, o.id]))
  // With automatic capture Stripe captured at confirmation: the merchant has nothing to do.
  const autoCapture = e2e.env.STRIPE_CAPTURE === "true"
  const toCapture = autoCapture ? [] : carts.filter((_, i) => i % 2 === 0)
  const admins = servers.map((s) => {
    const client = adminClient(s.url)
    client.token = cluster.admin.token
    Object.assign(client.headers, cluster.admin.headers)
    return client
  })
  let capturesRequested = 0
  for (let i = 0; i < toCapture.length; i += 16) {
    await Promise.all(
      toCapture.slice(i, i + 16).map(async ({ cartId }) => {
        const orderId = orderOf.get(cartId)
        if (!orderId) return
        capturesRequested += admins.length
        const answers = await Promise.all(
          admins.map((admin) =>
            send(admin, "POST", `/admin/orders/${orderId}/capture`, `capture ${orderId}`)
          )
        )
        if (!answers.some((a) => a.status === 200)) {
          failures.push(
            `capture of ${orderId}: ${answers.map((a) => `${a.status} ${a.detail ?? ""}`).join("; ")}`
          )
        }
      })
    )
  }
  // Anything the captures set off (payment_intent.succeeded, charge.captured) is delivered too.
  await emulator.webhooks.flush()
  await sleep(2000)
  await emulator.webhooks.flush()
  const peakConnections = await sampler.stop()
  emulator.webhooks.configure({ duplicates: 0, reorder: false })

  const ordersPerCart: Record<number, number> = {}
  const wrongOrders: { cartId: string; orders: number }[] = []
  const counted = new Map((await countOrders()).map((row) => [row.cart_id, Number(row.n)]))
  for (const cartId of cartIds) {
    const n = counted.get(cartId) ?? 0
    bump(ordersPerCart, n)
    if (n !== 1) wrongOrders.push({ cartId, orders: n })
  }

  const capturesOf = new Map<string, number>()
  for (const entry of emulator.requestLog()) {
    if (entry.route !== CAPTURE_ROUTE || entry.replayed) continue
    if (entry.status === null || entry.status < 200 || entry.status >= 300) continue
    const intentId = /payment_intents\/([^/]+)\/capture/.exec(entry.path)?.[1]
    if (intentId) capturesOf.set(intentId, (capturesOf.get(intentId) ?? 0) + 1)
  }
  const doubleCaptures = [...capturesOf.entries()]
    .filter(([, n]) => n > 1)
    .map(([intentId, captures]) => ({ intentId, captures }))

  const uncaptured: string[] = []
  const captured = new Set(toCapture.map((c) => c.cartId))
  for (const cart of carts) {
    if (!autoCapture && !captured.has(cart.cartId)) continue
    const orderId = orderOf.get(cart.cartId)
    const row = orderId
      ? await e2e.db.one<{ payment_status: string }>(
          `SELECT payment_status FROM "order" WHERE id = $1`,
          [orderId]
        )
      : undefined
    const intent = emulator.paymentIntent(cart.intentId)
    if (row?.payment_status !== "captured" || intent?.status !== "succeeded") {
      uncaptured.push(
        `${orderId ?? cart.cartId}: order ${row?.payment_status ?? "missing"}, intent ${intent?.status ?? "missing"}`
      )
    }
  }

  const deliveries = emulator.webhooks.deliveries()
  const perTarget = cluster.proxy.perTarget()
  const webhookEvents: Record<string, number> = {}
  for (const row of await e2e.db.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM stripe_webhook_event GROUP BY status`
  )) {
    webhookEvents[row.status] = Number(row.n)
  }
  const errorLogs = [...servers, ...cluster.workers]
    .flatMap((b) =>
      // eslint-disable-next-line no-control-regex
      b.logs().map((line) => `[pid ${b.pid}] ${line.replace(/\x1b\[[0-9;]*m/g, "")}`)
    )
    .filter((line) => /\berror\b/i.test(line) && !/Local Event Bus/.test(line))
    .slice(0, 40)

  return {
    seed: cluster.seed,
    checkouts: options.checkouts,
    capture: autoCapture,
    paid: carts.length,
    endings,
    seconds,
    checkoutsPerSecond: carts.length / seconds,
    statuses,
    fiveHundreds,
    hung,
    failures,
    ordersPerCart,
    wrongOrders,
    capturesRequested,
    captureCalls: [...capturesOf.values()].reduce((a, b) => a + b, 0),
    doubleCaptures,
    uncaptured,
    deliveries: {
      total: deliveries.length,
      duplicates: deliveries.filter((d) => d.duplicate).length,
      perServer: servers.map((s) => perTarget[s.url] ?? 0),
      statuses: cluster.proxy.statuses(),
    },
    webhookEvents,
    peakConnections,
    errorLogs,
  }
}
