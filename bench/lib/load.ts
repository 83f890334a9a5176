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
  /** Each checkout's total and per-request times, ms, so that runs can be combined. */
  samples: { totalMs: number; steps: Partial<Record<StorefrontStep, number>> }[]
}

type LatencySample = LatencyRun["samples"][number]

function latencyRun(latencyMs: number, samples: LatencySample[], errors: string[]): LatencyRun {
  const stepMedians: Partial<Record<StorefrontStep, number>> = {}
  for (const step of STOREFRONT_STEPS) {
    const values = samples.flatMap((sample) => sample.steps[step] ?? [])
    if (values.length > 0) stepMedians[step] = summarize(values).median
  }
  return {
    latencyMs,
    checkouts: samples.length,
    total: summarize(samples.map((sample) => sample.totalMs)),
    stepMedians,
    errors,
    samples,
  }
}

/** One summary of the checkouts of several runs at the same latency. */
export function combineLatency(runs: LatencyRun[]): LatencyRun {
  return latencyRun(
    runs[0].latencyMs,
    runs.flatMap((run) => run.samples),
    runs.flatMap((run) => run.errors)
  )
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
    const samples: LatencySample[] = []
    const errors: string[] = []
    for (let i = 0; i < checkouts; i++) {
      try {
        const run = await checkoutOnce(shop, {
          email: `lat-${emailTag}-${latencyMs}-${i}@example.com`,
        })
        samples.push({ totalMs: run.totalMs, steps: run.steps })
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err))
      }
    }
    return latencyRun(latencyMs, samples, errors)
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
  /** Each round on its own (a freshly started backend each): checkouts/s and CPU ms/checkout. */
  rounds: { perSecond: number; backendCpuMsPerCheckout: number; checkouts: number }[]
}

/** Checkouts per second at `concurrency`, after `warmup` checkouts at the same concurrency. */
export async function measureThroughput(
  shop: Shop,
  pid: number,
  options: { concurrency: number; warmup: number; checkouts: number; emailTag: string }
): Promise<{ run: ThroughputRun; samples: number[] }> {
  await runPool(options.warmup, options.concurrency, (i) =>
    checkoutOnce(shop, { email: `tp-warm-${options.emailTag}-${i}@example.com`, variant: i })
  )
  await sleep(1000)
  const backend0 = processCpuMs(pid)
  const own0 = ownCpuMs()
  const pool = await runPool(options.checkouts, options.concurrency, (i) =>
    checkoutOnce(shop, { email: `tp-${options.emailTag}-${i}@example.com`, variant: i })
  )
  const done = pool.results.length
  const seconds = pool.elapsedMs / 1000
  const backendCpuMsPerCheckout = (processCpuMs(pid) - backend0) / Math.max(1, done)
  const samples = pool.results.map((r) => r.totalMs)
  return {
    run: {
      concurrency: options.concurrency,
      warmup: options.warmup,
      checkouts: done,
      seconds,
      perSecond: done / seconds,
      checkoutMs: summarize(samples),
      backendCpuMsPerCheckout,
      clientCpuMsPerCheckout: (ownCpuMs() - own0) / Math.max(1, done),
      errors: pool.errors,
      rounds: [{ perSecond: done / seconds, backendCpuMsPerCheckout, checkouts: done }],
    },
    samples,
  }
}

/** Several rounds of one configuration as one figure: totals over total time. */
export function combineThroughput(
  parts: { run: ThroughputRun; samples: number[] }[]
): ThroughputRun {
  const runs = parts.map((p) => p.run)
  const checkouts = runs.reduce((acc, r) => acc + r.checkouts, 0)
  const seconds = runs.reduce((acc, r) => acc + r.seconds, 0)
  const weighted = (pick: (r: ThroughputRun) => number) =>
    runs.reduce((acc, r) => acc + pick(r) * r.checkouts, 0) / Math.max(1, checkouts)
  return {
    concurrency: runs[0].concurrency,
    warmup: runs[0].warmup,
    checkouts,
    seconds,
    perSecond: checkouts / seconds,
    checkoutMs: summarize(parts.flatMap((p) => p.samples)),
    backendCpuMsPerCheckout: weighted((r) => r.backendCpuMsPerCheckout),
    clientCpuMsPerCheckout: weighted((r) => r.clientCpuMsPerCheckout),
    errors: runs.flatMap((r) => r.errors),
    rounds: runs.flatMap((r) => r.rounds),
  }
}

/** Memory of the backend after a full garbage collection (see gc-probe.js), MiB. */
export interface MemorySnapshot {
  checkouts: number
  rssMiB: number
  heapUsedMiB: number
}

export interface MemoryRun {
  config: string
  concurrency: number
  warmup: number
  checkouts: number
  errors: number
  seconds: number
  /** Idle after start, idle after the warm-up, idle after all checkouts (after a full GC). */
  boot: MemorySnapshot
  warm: MemorySnapshot
  after: MemorySnapshot
  /** VmRSS at the end before the forced collection, MiB. */
  rssAfterNoGcMiB: number
  rssGrowthMiB: number
  rssGrowthPercent: number
  heapGrowthMiB: number
  /** Along the run, every `sampleEvery` checkouts (under load). */
  samples: MemorySnapshot[]
}

/**
 * Memory of a freshly started backend: idle, after a warm-up, then along `checkouts`
 * checkouts at `concurrency`, each time after a full collection.
 */
export async function measureMemory(
  shop: Shop,
  pid: number,
  snapshot: (checkouts: number) => Promise<MemorySnapshot>,
  options: {
    config: string
    concurrency: number
    warmup: number
    checkouts: number
    sampleEvery: number
    emailTag: string
    onProgress?: (done: number, total: number) => void
  }
): Promise<MemoryRun> {
  const started = Date.now()
  await sleep(2000)
  const boot = await snapshot(0)
  await runPool(options.warmup, options.concurrency, (i) =>
    checkoutOnce(shop, { email: `mem-warm-${options.emailTag}-${i}@example.com`, variant: i })
  )
  await sleep(2000)
  const warm = await snapshot(0)
  const samples: MemorySnapshot[] = [warm]
  const pending: Promise<void>[] = []
  const pool = await runPool(
    options.checkouts,
    options.concurrency,
    (i) => checkoutOnce(shop, { email: `mem-${options.emailTag}-${i}@example.com`, variant: i }),
    (done) => {
      if (done % options.sampleEvery === 0 && done < options.checkouts) {
        pending.push(snapshot(done).then((s) => void samples.push(s)))
        options.onProgress?.(done, options.checkouts)
      }
    }
  )
  await Promise.all(pending)
  const done = pool.results.length + pool.errors.length
  await sleep(3000)
  const rssAfterNoGcMiB = rssMiB(pid)
  const after = await snapshot(done)
  samples.push(after)
  samples.sort((a, b) => a.checkouts - b.checkouts)
  return {
    config: options.config,
    concurrency: options.concurrency,
    warmup: options.warmup,
    checkouts: done,
    errors: pool.errors.length,
    seconds: (Date.now() - started) / 1000,
    boot,
    warm,
    after,
    rssAfterNoGcMiB,
    rssGrowthMiB: after.rssMiB - warm.rssMiB,
    rssGrowthPercent: ((after.rssMiB - warm.rssMiB) / warm.rssMiB) * 100,
    heapGrowthMiB: after.heapUsedMiB - warm.heapUsedMiB,
    samples,
  }
}
