import os from "os"

import { checkout, storeClient, type ApiClient, type StripeEmulator } from "../../__tests__/support"
import { sampleConnections } from "../../__tests__/support/multi-instance"
import type { ConfigName } from "./setup"
import type { Shop } from "./shop"
import { runPool } from "./shop"
import { msSince, summarize, type Summary } from "./stats"

/** When a section was measured, and how busy the machine was. */
export interface Measured {
  date: string
  cores: number
  cpuModel: string
  loadAverageStart: number[]
  loadAverageEnd: number[]
  seconds: number
}

export function measuredSince(date: Date, loadAverageStart: number[]): Measured {
  return {
    date: date.toISOString(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    loadAverageStart,
    loadAverageEnd: os.loadavg(),
    seconds: (Date.now() - date.getTime()) / 1000,
  }
}

/** One burst: `concurrency` shoppers press "complete" at the same moment. */
export interface BurstRun {
  config: ConfigName
  latencyMs: number
  concurrency: number
  /** Completions answered with an order. */
  ok: number
  /** From the first request to the last answer (or timeout), s. */
  seconds: number
  perSecond: number
  /** Time to the answer of the completions answered with an order, ms. */
  completionMs: Summary
  /** Answers by status ("no answer" when none came within the timeout). */
  statuses: Record<string, number>
  fiveHundreds: number
  hung: number
  /** Stripe requests the emulator received during the burst, per completion answered. */
  stripeCallsPerCompletion: number
  /** Highest count of connections the backend held on the bench database, sampled. */
  peakConnections: number
  /** The first answers that were not an order. */
  samples: string[]
  /** The backend was restarted after this burst (because requests hung). */
  restarted: boolean
}

export interface ConcurrencyResult {
  measured: Measured
  levels: number[]
  latencyMs: number
  timeoutMs: number
  /** Medusa's pool (`database_extra.max` unset: 10) and the plugin's pools per process. */
  medusaPool: number
  lockPool: number
  queryPool: number
  /** Median of sequential completions at 0 ms (one shopper), per configuration, ms. */
  aloneMs: Partial<Record<ConfigName, number>>
  runs: BurstRun[]
}

export interface BurstOptions {
  config: ConfigName
  latencyMs: number
  concurrency: number
  timeoutMs: number
  emailTag: string
  /** pg_stat_activity is sampled for this database, leaving out these pids. */
  database: { url: string; name: string; exclude: number[] }
}

/**
 * A cart ready to complete: item, address, shipping, payment session selected and, for
 * Stripe, confirmed by the shopper (at the emulator, outside the timing).
 */
async function prepareCart(shop: Shop, email: string, variant: number): Promise<string> {
  const cart = await checkout(shop.store, {
    region: shop.regionId,
    provider: shop.provider,
    variantId: shop.variantIds[variant % shop.variantIds.length],
    email,
  })
  if (shop.provider !== "manual") {
    const intentId = cart.payment_session?.data.id
    if (typeof intentId !== "string") throw new Error(`Cart ${cart.id} has no PaymentIntent`)
    await shop.emulator.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
  }
  return cart.id
}

export async function prepareCarts(
  shop: Shop,
  count: number,
  emailTag: string,
  concurrency = 8
): Promise<string[]> {
  const pool = await runPool(count, concurrency, (i) =>
    prepareCart(shop, `burst-${emailTag}-${i}@example.com`, i)
  )
  if (pool.errors.length > 0) {
    throw new Error(`Preparing carts failed: ${pool.errors.slice(0, 3).join("; ")}`)
  }
  return pool.results
}

interface Answer {
  status: number
  ms: number
  order: boolean
  detail: string
}

async function completeOnce(store: ApiClient, cartId: string, timeoutMs: number): Promise<Answer> {
  const started = process.hrtime.bigint()
  try {
    const res = await store.request<{ type?: string }>(
      "POST",
      `/store/carts/${cartId}/complete`,
      undefined,
      { timeoutMs }
    )
    const order = res.status === 200 && res.body?.type === "order"
    return {
      status: res.status,
      ms: msSince(started),
      order,
      detail: order ? "" : `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
    }
  } catch (error) {
    return {
      status: 0,
      ms: msSince(started),
      order: false,
      detail: `no answer after ${Math.round(msSince(started))} ms: ${error instanceof Error ? error.message : String(error)}`,
    }
  }
}

/** Median of `count` completions one after another (after one untimed), ms. */
export async function completionAlone(
  shop: Shop,
  count: number,
  emailTag: string
): Promise<number> {
  const carts = await prepareCarts(shop, count + 1, `alone-${emailTag}`, 4)
  const times: number[] = []
  for (const [i, cartId] of carts.entries()) {
    const answer = await completeOnce(storeClient(shop.store.baseUrl), cartId, 60_000)
    if (!answer.order) throw new Error(`Completing ${cartId} alone: ${answer.detail}`)
    if (i > 0) times.push(answer.ms)
  }
  return summarize(times).median
}

/** Prepares `concurrency` carts, then completes them all at once with Stripe at `latencyMs`. */
export async function measureBurst(
  shop: Shop,
  emulator: StripeEmulator,
  options: BurstOptions
): Promise<Omit<BurstRun, "restarted">> {
  const carts = await prepareCarts(shop, options.concurrency, options.emailTag)
  const sampler = await sampleConnections(
    options.database.url,
    options.database.name,
    100,
    options.database.exclude
  )
  emulator.faults.setLatency(options.latencyMs)
  const since = Date.now()
  const started = process.hrtime.bigint()
  let answers: Answer[]
  try {
    answers = await Promise.all(
      carts.map((cartId) =>
        completeOnce(storeClient(shop.store.baseUrl), cartId, options.timeoutMs)
      )
    )
  } finally {
    emulator.faults.setLatency(0)
  }
  const seconds = msSince(started) / 1000
  const until = Date.now()
  const peakConnections = await sampler.stop()
  const stripeCalls = emulator
    .requestLog()
    .filter((entry) => entry.startedAt >= since && entry.startedAt <= until).length
  const statuses: Record<string, number> = {}
  for (const answer of answers) {
    const key = answer.status === 0 ? "no answer" : String(answer.status)
    statuses[key] = (statuses[key] ?? 0) + 1
  }
  const ok = answers.filter((a) => a.order)
  return {
    config: options.config,
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
    ok: ok.length,
    seconds,
    perSecond: ok.length / seconds,
    completionMs: summarize(ok.map((a) => a.ms)),
    statuses,
    fiveHundreds: answers.filter((a) => a.status >= 500).length,
    hung: answers.filter((a) => a.status === 0).length,
    stripeCallsPerCompletion: ok.length > 0 ? stripeCalls / ok.length : 0,
    peakConnections,
    samples: [...new Set(answers.filter((a) => !a.order).map((a) => a.detail))].slice(0, 3),
  }
}

/** Connections that can hold a completion while it waits for Stripe, per backend process. */
export function slotsOf(config: ConfigName, r: ConcurrencyResult): number {
  // This plugin holds a cart lock (its lock pool) and Medusa's transaction (Medusa's pool)
  // across the Stripe call; the official plugin only Medusa's transaction.
  return config === "ours" ? Math.min(r.lockPool, r.medusaPool) : r.medusaPool
}

export interface Bound {
  /** Completions/s the backend reached at 0 ms with the same number of shoppers. */
  atZero: number | undefined
  /** Stripe calls per completion (measured) × latency + the completion alone at 0 ms. */
  perCompletionMs: number | undefined
  slots: number
  /** min(shoppers, slots) / perCompletion: what the Stripe round trips allow. */
  stripeBound: number | undefined
  /** min(atZero, stripeBound). */
  bound: number | undefined
  /** The formula with its figures. */
  text: string
}

/**
 * What the Stripe round trips allow at `latencyMs` with `concurrency` shoppers (operational
 * bounds: throughput ≤ jobs in service / time per job, and ≤ the capacity of the bottleneck).
 */
export function boundOf(r: ConcurrencyResult, run: BurstRun): Bound {
  const atZero = r.runs.find(
    (x) => x.config === run.config && x.latencyMs === 0 && x.concurrency === run.concurrency
  )?.perSecond
  const alone = r.aloneMs[run.config]
  const k = run.stripeCallsPerCompletion
  const slots = slotsOf(run.config, r)
  const inService = Math.min(run.concurrency, slots)
  if (alone === undefined || run.latencyMs === 0) {
    return {
      atZero,
      perCompletionMs: undefined,
      slots,
      stripeBound: undefined,
      bound: atZero,
      text: "",
    }
  }
  const perCompletionMs = k * run.latencyMs + alone
  const stripeBound = (inService * 1000) / perCompletionMs
  const bound = atZero !== undefined ? Math.min(atZero, stripeBound) : stripeBound
  const text = `min(${atZero?.toFixed(2) ?? "–"}, min(${run.concurrency}, ${slots}) / (${k.toFixed(2)} × ${run.latencyMs} ms + ${Math.round(alone)} ms)) = min(${atZero?.toFixed(2) ?? "–"}, ${stripeBound.toFixed(2)}) = ${bound.toFixed(2)}`
  return { atZero, perCompletionMs, slots, stripeBound, bound, text }
}

/** Targets of the section this run did not meet. */
export function concurrencyFindings(r: ConcurrencyResult): string[] {
  const out: string[] = []
  for (const run of r.runs) {
    const who = `${run.config}, ${run.concurrency} shoppers at ${run.latencyMs} ms`
    if (run.hung > 0)
      out.push(
        `Concurrent completions (${who}): ${run.hung} without an answer within ${r.timeoutMs / 1000} s.`
      )
    if (run.fiveHundreds > 0) {
      // The last of N shoppers waits about (N - S) / X for one of the S lock connections.
      const slots = slotsOf(run.config, r)
      const wait = run.perSecond > 0 ? (run.concurrency - slots) / run.perSecond : Infinity
      const why =
        run.config === "ours" && (run.statuses["503"] ?? 0) > 0
          ? ` (503 \`lock_unavailable\`: the last of ${run.concurrency} shoppers waits about (${run.concurrency} − ${slots}) / ${run.perSecond.toFixed(2)} = ${wait.toFixed(1)} s for one of the ${slots} connections of the lock pool, and the pool gives up after 10 s)`
          : ""
      out.push(`Concurrent completions (${who}): ${run.fiveHundreds} answered 5xx${why}.`)
    }
    if (run.config === "ours" && run.latencyMs > 0) {
      const b = boundOf(r, run)
      if (b.bound !== undefined && run.perSecond < 0.9 * b.bound) {
        out.push(
          `Concurrent completions (${who}): ${run.perSecond.toFixed(2)}/s, ${(run.perSecond / b.bound).toFixed(2)} of the bound ${b.bound.toFixed(2)}/s (target ≥ 0.90).`
        )
      }
    }
  }
  return out
}

/** For logs: one line per burst. */
export function describeBurst(run: Omit<BurstRun, "restarted">): string {
  return `${run.config}, ${run.concurrency} shoppers at ${run.latencyMs} ms: ${run.ok}/${run.concurrency} orders, ${run.perSecond.toFixed(2)}/s, p50 ${Math.round(run.completionMs.median)} ms, p99 ${Math.round(run.completionMs.p99)} ms, ${JSON.stringify(run.statuses)}, ${run.stripeCallsPerCompletion.toFixed(2)} Stripe calls each, peak ${run.peakConnections} connections`
}
