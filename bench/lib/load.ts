import { spawnSync } from "child_process"
import fs from "fs"

import { sleep, type StripeEmulator } from "../../__tests__/support"
import { rssMiB } from "./setup"
import { STOREFRONT_STEPS, checkoutOnce, runPool, type Shop, type StorefrontStep } from "./shop"
import { summarize, type Summary } from "./stats"

let ticksPerSecond: number | undefined

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout
    ticksPerSecond = Number(out.trim()) || 100
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // Fields 14 and 15 of stat(5); the slice starts at field 3.
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / ticksPerSecond
}

/** CPU time of this process (the HTTP client and the in-process emulator), in ms. */
function ownCpuMs(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

export interface LatencyRun {
  latencyMs: number
  checkouts: number
  total: Summary
  /** Median of each storefront request, ms. */
  stepMedians: Partial<Record<StorefrontStep, number>>
  errors: string[]
}

/** Sequential checkouts with `latency` ms added to every Stripe request by the emulator. */
export async function measureLatency(
  shop: Shop,
  emulator: StripeEmulator,
  latencyMs: number,
  checkouts: number,
  warmup: number,
  emailTag: string
): Promise<LatencyRun> {
  emulator.faults.setLatency(latencyMs)
  try {
    for (let i = 0; i < warmup; i++) {
      await checkoutOnce(shop, { email: `lat-warm-${emailTag}-${latencyMs}-${i}@example.com` })
    }
    const totals: number[] = []
    const perStep = new Map<StorefrontStep, number[]>()
    const errors: string[] = []
    for (let i = 0; i < checkouts; i++) {
      try {
        const run = await checkoutOnce(shop, {
          email: `lat-${emailTag}-${latencyMs}-${i}@example.com`,
        })
        totals.push(run.totalMs)
        for (const [step, ms] of Object.entries(run.steps) as [StorefrontStep, number][]) {
          perStep.set(step, [...(perStep.get(step) ?? []), ms])
        }
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err))
      }
    }
    const stepMedians: Partial<Record<StorefrontStep, number>> = {}
    for (const step of STOREFRONT_STEPS) {
      const values = perStep.get(step)
      if (values) stepMedians[step] = summarize(values).median
    }
    return { latencyMs, checkouts: totals.length, total: summarize(totals), stepMedians, errors }
  } finally {
    emulator.faults.setLatency(0)
  }
}

export interface ThroughputRun {
  concurrency: number
  warmup: number
  checkouts: number
  seconds: number
  perSecond: number
  /** Wall time of one checkout under this load, ms. */
  checkoutMs: Summary
  /** CPU the backend process spent per checkout, ms. */
  backendCpuMsPerCheckout: number
  /** CPU of the load generator per checkout (HTTP client, plus the emulator for Stripe), ms. */
  clientCpuMsPerCheckout: number
  errors: string[]
}

async function throughputWindow(
  shop: Shop,
  pid: number,
  concurrency: number,
  checkouts: number,
  emailTag: string
): Promise<Omit<ThroughputRun, "warmup">> {
  const backend0 = processCpuMs(pid)
  const own0 = ownCpuMs()
  const pool = await runPool(checkouts, concurrency, (i) =>
    checkoutOnce(shop, { email: `tp-${emailTag}-${i}@example.com` })
  )
  const done = pool.results.length
  const seconds = pool.elapsedMs / 1000
  return {
    concurrency,
    checkouts: done,
    seconds,
    perSecond: done / seconds,
    checkoutMs: summarize(pool.results.map((r) => r.totalMs)),
    backendCpuMsPerCheckout: (processCpuMs(pid) - backend0) / Math.max(1, done),
    clientCpuMsPerCheckout: (ownCpuMs() - own0) / Math.max(1, done),
    errors: pool.errors,
  }
}

/** Checkouts per second at `concurrency`, after `warmup` checkouts at the same concurrency. */
export async function measureThroughput(
  shop: Shop,
  pid: number,
  options: { concurrency: number; warmup: number; checkouts: number; emailTag: string }
): Promise<ThroughputRun> {
  await runPool(options.warmup, options.concurrency, (i) =>
    checkoutOnce(shop, { email: `tp-warm-${options.emailTag}-${i}@example.com` })
  )
  await sleep(1000)
  const window = await throughputWindow(
    shop,
    pid,
    options.concurrency,
    options.checkouts,
    options.emailTag
  )
  return { ...window, warmup: options.warmup }
}

export interface MemoryRun {
  concurrency: number
  warmup: number
  checkouts: number
  errors: number
  seconds: number
  /** Right after boot (idle), after the warm-up, after all checkouts (idle again), MiB. */
  rssBootMiB: number
  rssWarmMiB: number
  rssAfterMiB: number
  growthMiB: number
  growthPercent: number
  /** RSS while the checkouts ran: [checkouts done, MiB]. */
  samples: [number, number][]
  throughput: ThroughputRun
}

/**
 * RSS of a freshly started backend: idle, after a warm-up, then along `checkouts` checkouts at
 * `concurrency` (the first `throughputCheckouts` of them are also its throughput window).
 */
export async function measureMemory(
  shop: Shop,
  pid: number,
  options: {
    concurrency: number
    warmup: number
    checkouts: number
    throughputCheckouts: number
    sampleEvery: number
    emailTag: string
    onProgress?: (done: number, total: number) => void
  }
): Promise<MemoryRun> {
  const started = Date.now()
  await sleep(2000)
  const rssBootMiB = rssMiB(pid)
  await runPool(options.warmup, options.concurrency, (i) =>
    checkoutOnce(shop, { email: `mem-warm-${options.emailTag}-${i}@example.com` })
  )
  await sleep(2000)
  const rssWarmMiB = rssMiB(pid)
  const samples: [number, number][] = [[0, rssWarmMiB]]

  const window = await throughputWindow(
    shop,
    pid,
    options.concurrency,
    Math.min(options.throughputCheckouts, options.checkouts),
    `${options.emailTag}-m`
  )
  let done = window.checkouts + window.errors.length
  samples.push([done, rssMiB(pid)])
  const rest = Math.max(0, options.checkouts - done)
  let errors = window.errors.length
  const offset = done
  const pool = await runPool(
    rest,
    options.concurrency,
    (i) => checkoutOnce(shop, { email: `mem-${options.emailTag}-${offset + i}@example.com` }),
    (n) => {
      done = offset + n
      if (done % options.sampleEvery === 0) {
        samples.push([done, rssMiB(pid)])
        options.onProgress?.(done, options.checkouts)
      }
    }
  )
  errors += pool.errors.length
  await sleep(3000)
  const rssAfterMiB = rssMiB(pid)
  samples.push([done, rssAfterMiB])
  return {
    concurrency: options.concurrency,
    warmup: options.warmup,
    checkouts: done,
    errors,
    seconds: (Date.now() - started) / 1000,
    rssBootMiB,
    rssWarmMiB,
    rssAfterMiB,
    growthMiB: rssAfterMiB - rssWarmMiB,
    growthPercent: ((rssAfterMiB - rssWarmMiB) / rssWarmMiB) * 100,
    samples,
    throughput: { ...window, warmup: options.warmup },
  }
}
