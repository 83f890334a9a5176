/**
 * `npm run bench`: this plugin, the official medusa-payment-stripe and medusa-payment-manual on
 * one Medusa 1.20 app, one database and one Stripe emulator. Writes bench/results/latest.json
 * and bench/RESULTS.md (see the Method section there).
 *
 *   BENCH_QUICK=1                  a short smoke run (writes bench/results/quick.{json,md})
 *   BENCH_SECTIONS=calls,latency,throughput,webhooks,memory,concurrency,instances   a subset;
 *                                  `npm run bench -- --only concurrency,instances` does the same.
 *                                  A run of only concurrency and/or instances rewrites just their
 *                                  blocks in bench/RESULTS.md and keeps the other sections.
 *   BENCH_CONCURRENCY_LEVELS=8,16,32,64   shoppers completing at once (section 6)
 *   BENCH_CONCURRENCY_CONFIGS=manual,official,ours   the backends of section 6
 *   BENCH_INSTANCE_CHECKOUTS=200   shoppers of the four-instance run (section 7)
 *   BENCH_CHECKOUTS, BENCH_THROUGHPUT_CHECKOUTS (per round), BENCH_THROUGHPUT_ROUNDS,
 *   BENCH_MEMORY_CHECKOUTS, BENCH_WEBHOOK_DELIVERIES       override the sample sizes
 *   BENCH_MEMORY_CONFIG=ours|official|manual              the backend of the memory run
 *   DATABASE_URL                   PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
 */
import fs from "fs"
import os from "os"
import path from "path"

import { REPO_ROOT, buildSeedData, sleep, type StripeEmulator } from "../__tests__/support"
import { measureCalls } from "./lib/calls"
import {
  combineLatency,
  combineThroughput,
  measureLatency,
  measureMemory,
  measureThroughput,
  type LatencyRun,
} from "./lib/load"
import {
  completionAlone,
  concurrencyFindings,
  describeBurst,
  measureBurst,
  measuredSince,
  type ConcurrencyResult,
} from "./lib/concurrency"
import { renderMarkdown } from "./lib/report"
import {
  SPLICED_SECTIONS,
  concurrencySection,
  instancesFindings,
  instancesSection,
  spliceSections,
} from "./lib/report-load"
import { bootCluster, runMultiInstanceCheckouts } from "../__tests__/support/multi-instance"
import type { BenchResults, BenchSettings } from "./lib/results"
import {
  BENCH_DIR,
  DATABASE_POOL_SIZE,
  OFFICIAL_PACKAGE,
  OFFICIAL_VERSION,
  gcSnapshot,
  officialDependencyVersion,
  setupEnvironment,
  startConfig,
  type BenchEnvironment,
  type ConfigName,
  type RunningBackend,
} from "./lib/setup"
import { openShop } from "./lib/shop"
import { ratio } from "./lib/stats"
import { callFindings, callsOf, CHECKOUT_STEPS } from "./lib/targets"
import { measureWebhooks } from "./lib/webhooks"

/**
 * Brings PostgreSQL to the same state before every measurement: fresh planner statistics and no
 * dead rows (so that neither autovacuum nor a plan change set off by the previous measurement's
 * writes lands in this one), and its dirty pages written out.
 */
async function quiesce(bench: BenchEnvironment): Promise<void> {
  await bench.db.query("VACUUM ANALYZE")
  await bench.db.query("CHECKPOINT")
  await sleep(1000)
}

/** The configurations in the order of measurement; every other pass or round reverses it. */
const ORDER: readonly ConfigName[] = ["manual", "official", "ours"]

function orderOf(pass: number): readonly ConfigName[] {
  return pass % 2 === 0 ? ORDER : [...ORDER].reverse()
}

/** The storefront and admin of a running backend, on the bench's emulator. */
function shopOn(bench: BenchEnvironment, running: RunningBackend) {
  return openShop(running.store, running.admin, bench.emulator, running.config.provider)
}

const SECTIONS = [
  "calls",
  "latency",
  "throughput",
  "webhooks",
  "memory",
  "concurrency",
  "instances",
] as const
type Section = (typeof SECTIONS)[number]

const quick = process.env.BENCH_QUICK === "1"
const started = Date.now()
const runTag = Date.now().toString(36)

function envNumber(name: string, fallback: number): number {
  const value = process.env[name]
  return value ? Number(value) : fallback
}

/** `--only a,b` on the command line, else BENCH_SECTIONS. */
function wantedSections(): string | undefined {
  const args = process.argv.slice(2)
  const at = args.findIndex((arg) => arg === "--only" || arg.startsWith("--only="))
  if (at < 0) return process.env.BENCH_SECTIONS
  const value = args[at].includes("=") ? args[at].split("=")[1] : args[at + 1]
  if (!value) throw new Error("--only needs a list of sections, e.g. --only concurrency")
  return value
}

function selectedSections(): Section[] {
  const wanted = wantedSections()
  if (!wanted) return [...SECTIONS]
  const list = wanted.split(",").map((s) => s.trim())
  const unknown = list.filter((s) => !(SECTIONS as readonly string[]).includes(s))
  if (unknown.length > 0) throw new Error(`Unknown BENCH_SECTIONS: ${unknown.join(", ")}`)
  return list as Section[]
}

function memoryConfig(): ConfigName {
  const name = process.env.BENCH_MEMORY_CONFIG ?? "ours"
  if (name !== "ours" && name !== "official" && name !== "manual") {
    throw new Error(`BENCH_MEMORY_CONFIG must be ours, official or manual, not ${name}`)
  }
  return name
}

const settings: BenchSettings = {
  latenciesMs: [0, 100, 300],
  latencyCheckouts: envNumber("BENCH_CHECKOUTS", quick ? 4 : 30),
  latencyWarmup: quick ? 1 : 2,
  concurrency: 16,
  variants: 16,
  throughputRounds: envNumber("BENCH_THROUGHPUT_ROUNDS", quick ? 1 : 4),
  throughputWarmup: quick ? 16 : 32,
  throughputCheckouts: envNumber("BENCH_THROUGHPUT_CHECKOUTS", quick ? 32 : 64),
  webhookDeliveries: envNumber("BENCH_WEBHOOK_DELIVERIES", quick ? 400 : 4000),
  webhookWarmup: quick ? 100 : 400,
  webhookConcurrency: 16,
  tabClosedCarts: quick ? 2 : 6,
  memoryWarmup: quick ? 16 : 48,
  memoryCheckouts: envNumber("BENCH_MEMORY_CHECKOUTS", quick ? 64 : 2000),
  memoryConfig: memoryConfig(),
  databasePoolSize: DATABASE_POOL_SIZE,
  sections: selectedSections(),
}

const concurrencyLevels = (process.env.BENCH_CONCURRENCY_LEVELS ?? (quick ? "4,8" : "8,16,32,64"))
  .split(",")
  .map(Number)
const concurrencyConfigs = (process.env.BENCH_CONCURRENCY_CONFIGS ?? ORDER.join(","))
  .split(",")
  .filter((name): name is ConfigName => (ORDER as readonly string[]).includes(name))
const instanceCheckouts = envNumber("BENCH_INSTANCE_CHECKOUTS", quick ? 24 : 200)
/** A completion without an answer by then counts as hung. */
const HANG_MS = 60_000
/** The plugin's default pools (src/core/advisory-lock.ts) and Medusa's default pool. */
const POOLS = { medusa: 10, locks: 10, queries: 4 }

function log(line: string): void {
  const elapsed = ((Date.now() - started) / 1000).toFixed(0).padStart(5)
  process.stdout.write(`[bench ${elapsed}s] ${line}\n`)
}

function packageVersion(dir: string): string {
  return (
    JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }
  ).version
}

/** Requests the emulator answered with 4xx/5xx since `since` (ms epoch), deduplicated. */
function stripeErrorsSince(emulator: StripeEmulator, since: number): string[] {
  const seen = new Set<string>()
  for (const entry of emulator.requestLog()) {
    if (entry.startedAt >= since && entry.status !== null && entry.status >= 400) {
      seen.add(`${entry.route ?? `${entry.method} ${entry.path}`} -> ${entry.status}`)
    }
  }
  return [...seen]
}

async function withBackend<T>(
  bench: BenchEnvironment,
  name: ConfigName,
  results: BenchResults,
  fn: (running: RunningBackend) => Promise<T>
): Promise<T> {
  const since = Date.now()
  const running = await startConfig(bench, bench.configs[name])
  try {
    return await fn(running)
  } catch (err) {
    process.stdout.write(`${running.backend.logs().slice(-40).join("\n")}\n`)
    throw err
  } finally {
    const errors = stripeErrorsSince(bench.emulator, since)
    if (errors.length > 0) {
      results.stripeErrors[name] = [...new Set([...(results.stripeErrors[name] ?? []), ...errors])]
    }
    await running.backend.stop()
  }
}

async function main(): Promise<void> {
  const sections = new Set(settings.sections)
  const loadStart = os.loadavg()
  log(`${os.cpus().length} cores, load average ${loadStart.map((v) => v.toFixed(2)).join(" ")}`)
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      quick,
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGiB: os.totalmem() / 1024 ** 3,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      medusa: packageVersion(path.join(REPO_ROOT, "node_modules", "@medusajs", "medusa")),
      plugin: `medusa-stripe-payments@${packageVersion(REPO_ROOT)}`,
      official: `${OFFICIAL_PACKAGE}@${OFFICIAL_VERSION}`,
      officialStripe: "",
      pluginStripe: packageVersion(path.join(REPO_ROOT, "node_modules", "stripe")),
      loadAverageStart: loadStart,
      loadAverageEnd: [],
      durationSeconds: 0,
    },
    settings,
    calls: {},
    latency: {},
    throughput: {},
    stripeErrors: {},
    findings: [],
  }

  const bench = await setupEnvironment({
    seed: buildSeedData({
      providers: ["stripe", "manual"],
      inventory: 10_000_000,
      variants: settings.variants,
    }),
  })
  results.meta.officialStripe = officialDependencyVersion("stripe") ?? "unknown"
  log(`database ${bench.database.name}, emulator ${bench.emulator.url}`)
  try {
    // Sections 1, 2 and 4: two passes, in the order A B C and then C B A, so that a drift in the
    // machine's load does not favour one configuration; each pass measures half the checkouts.
    const halves: Partial<Record<ConfigName, LatencyRun[]>> = {}
    for (const pass of [0, 1]) {
      for (const name of orderOf(pass)) {
        const wantsCalls = pass === 0 && sections.has("calls") && name !== "manual"
        const wantsWebhooks = pass === 1 && sections.has("webhooks") && name === "ours"
        if (!wantsCalls && !sections.has("latency") && !wantsWebhooks) continue
        await withBackend(bench, name, results, async (running) => {
          const shop = await shopOn(bench, running)
          if (wantsCalls) {
            const calls = await measureCalls(shop, `calls-${name}-${runTag}@example.com`)
            results.calls[name] = calls
            log(
              `${name}: Stripe calls per checkout ${callsOf(calls.firstTime, CHECKOUT_STEPS)} (first-time), ${callsOf(calls.returning, CHECKOUT_STEPS)} (returning)`
            )
          }
          if (sections.has("latency")) {
            const latencies = name === "manual" ? [0] : settings.latenciesMs
            const checkouts =
              pass === 0
                ? Math.ceil(settings.latencyCheckouts / 2)
                : Math.floor(settings.latencyCheckouts / 2)
            for (const latency of latencies) {
              await quiesce(bench)
              const run = await measureLatency(
                shop,
                bench.emulator,
                latency,
                checkouts,
                settings.latencyWarmup,
                `${name}-${runTag}-p${pass}`
              )
              halves[name] = [...(halves[name] ?? []), run]
              log(
                `${name}, pass ${pass + 1}: ${latency} ms Stripe latency, checkout median ${Math.round(run.total.median)} ms, p95 ${Math.round(run.total.p95)} ms (${run.checkouts} ok, ${run.errors.length} errors)`
              )
            }
          }
          if (wantsWebhooks) {
            await quiesce(bench)
            const webhooks = await measureWebhooks(shop, {
              deliveries: settings.webhookDeliveries,
              warmup: settings.webhookWarmup,
              concurrency: settings.webhookConcurrency,
              tabClosedCarts: settings.tabClosedCarts,
              secret: bench.webhookSecret,
              db: bench.db,
              emailTag: runTag,
              pid: running.backend.pid,
            })
            results.webhooks = webhooks
            log(
              `webhooks: ${Math.round(webhooks.ingestion.acksPerSecond)} acks/s, p99 ${webhooks.ingestion.latency.p99.toFixed(1)} ms, backend CPU ${webhooks.ingestion.backendCpuMsPerDelivery.toFixed(2)} ms per delivery; tab closed: delivery -> order median ${Math.round(webhooks.tabClosed.deliveryToOrder.median)} ms`
            )
          }
        })
      }
    }
    for (const name of ORDER) {
      const runs = halves[name] ?? []
      const latencies = [...new Set(runs.map((run) => run.latencyMs))]
      if (latencies.length > 0) {
        results.latency[name] = latencies.map((latency) =>
          combineLatency(runs.filter((run) => run.latencyMs === latency))
        )
      }
    }

    // Section 3: rounds of freshly started backends, in the order A B C, then C B A, ...
    if (sections.has("throughput")) {
      const parts: Partial<Record<ConfigName, Parameters<typeof combineThroughput>[0]>> = {}
      for (let round = 0; round < settings.throughputRounds; round++) {
        for (const name of orderOf(round)) {
          await withBackend(bench, name, results, async (running) => {
            const shop = await shopOn(bench, running)
            await quiesce(bench)
            const part = await measureThroughput(shop, running.backend.pid, {
              concurrency: settings.concurrency,
              warmup: settings.throughputWarmup,
              checkouts: settings.throughputCheckouts,
              emailTag: `${name}-${runTag}-r${round}`,
            })
            parts[name] = [...(parts[name] ?? []), part]
            log(
              `${name}, round ${round + 1}: ${part.run.perSecond.toFixed(2)} checkouts/s at concurrency ${settings.concurrency}, backend CPU ${Math.round(part.run.backendCpuMsPerCheckout)} ms per checkout (${part.run.errors.length} errors)`
            )
          })
          await sleep(1000)
        }
      }
      for (const name of ORDER) {
        const list = parts[name]
        if (list && list.length > 0) results.throughput[name] = combineThroughput(list)
      }
    }

    // Section 5: one freshly started backend.
    if (sections.has("memory")) {
      const name = settings.memoryConfig
      await withBackend(bench, name, results, async (running) => {
        const shop = await shopOn(bench, running)
        const run = await measureMemory(
          shop,
          running.backend.pid,
          (checkouts) => gcSnapshot(running.backend, checkouts),
          {
            config: running.config.label,
            concurrency: settings.concurrency,
            warmup: settings.memoryWarmup,
            checkouts: settings.memoryCheckouts,
            sampleEvery: quick ? 16 : 250,
            emailTag: `${name}-${runTag}`,
            onProgress: (done, total) => log(`memory: ${done}/${total} checkouts`),
          }
        )
        results.memory = run
        log(
          `memory (${name}): RSS after a full GC ${run.boot.rssMiB.toFixed(0)} -> ${run.warm.rssMiB.toFixed(0)} -> ${run.after.rssMiB.toFixed(0)} MiB, heap ${run.warm.heapUsedMiB.toFixed(0)} -> ${run.after.heapUsedMiB.toFixed(0)} MiB after ${run.checkouts} checkouts`
        )
      })
    }
    if (sections.has("concurrency")) {
      results.concurrency = await measureConcurrency(bench, results)
    }
    if (sections.has("instances")) {
      const date = new Date()
      const load = os.loadavg()
      const cluster = await bootCluster({ seed: 7, log: (line) => log(`instances: ${line}`) })
      try {
        const run = await runMultiInstanceCheckouts(cluster, {
          checkouts: instanceCheckouts,
          log: (line) => log(`instances: ${line}`),
        })
        results.instances = { measured: measuredSince(date, load), run }
        log(
          `instances: ${run.paid} paid, orders per cart ${JSON.stringify(run.ordersPerCart)}, ${run.fiveHundreds.length} 5xx, ${run.hung.length} hung, ${run.doubleCaptures.length} double captures, ${run.captureCalls} captures, peak ${run.peakConnections} connections, ${run.seconds.toFixed(1)} s`
        )
        for (const line of run.failures.slice(0, 10)) log(`instances: ${line}`)
        if (run.fiveHundreds.length > 0 || run.hung.length > 0) {
          for (const line of run.errorLogs) log(`instances: ${line}`)
        }
      } finally {
        await cluster.shutdown()
      }
    }
  } finally {
    await bench.shutdown()
  }

  results.findings = findings(results)
  results.meta.loadAverageEnd = os.loadavg()
  results.meta.durationSeconds = (Date.now() - started) / 1000

  const outDir = path.join(BENCH_DIR, "results")
  fs.mkdirSync(outDir, { recursive: true })
  const spliced = settings.sections.every((s) =>
    (SPLICED_SECTIONS as readonly string[]).includes(s)
  )
  const json = path.join(
    outDir,
    quick ? "quick.json" : spliced ? `${settings.sections.join("-")}.json` : "latest.json"
  )
  const markdown = quick ? path.join(outDir, "quick.md") : path.join(BENCH_DIR, "RESULTS.md")
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`)
  if (spliced && fs.existsSync(markdown)) {
    // Only sections 6 and/or 7 ran: the other sections keep the figures of their own run.
    const blocks = {
      concurrency: concurrencySection(results.concurrency),
      instances: instancesSection(results.instances),
    }
    fs.writeFileSync(markdown, spliceSections(fs.readFileSync(markdown, "utf8"), blocks))
  } else {
    fs.writeFileSync(markdown, renderMarkdown(results))
  }
  log(`wrote ${path.relative(REPO_ROOT, json)} and ${path.relative(REPO_ROOT, markdown)}`)
  for (const finding of results.findings) log(`target missed: ${finding}`)
}

/**
 * Section 6: for each backend, started afresh with Medusa's default pool, bursts of shoppers
 * completing at once, at 0 ms and at 300 ms Stripe latency (the manual baseline at 0 ms only).
 * A backend whose requests hung is restarted before the next burst.
 */
async function measureConcurrency(
  bench: BenchEnvironment,
  results: BenchResults
): Promise<ConcurrencyResult> {
  const date = new Date()
  const load = os.loadavg()
  const own = await bench.db.one<{ pid: number }>("SELECT pg_backend_pid() AS pid")
  const result: ConcurrencyResult = {
    measured: measuredSince(date, load),
    levels: concurrencyLevels,
    latencyMs: 300,
    timeoutMs: HANG_MS,
    medusaPool: POOLS.medusa,
    lockPool: POOLS.locks,
    queryPool: POOLS.queries,
    aloneMs: {},
    runs: [],
  }
  for (const name of concurrencyConfigs) {
    const base = bench.configs[name]
    const config = { ...base, env: { ...base.env, BENCH_DEFAULT_POOL: "1" } }
    const since = Date.now()
    let running = await startConfig(bench, config)
    try {
      let shop = await shopOn(bench, running)
      result.aloneMs[name] = await completionAlone(shop, 5, `${name}-${runTag}`)
      log(
        `${name}: one completion alone at 0 ms, median ${Math.round(result.aloneMs[name] ?? 0)} ms`
      )
      const latencies = name === "manual" ? [0] : [0, result.latencyMs]
      for (const latencyMs of latencies) {
        for (const concurrency of concurrencyLevels) {
          await quiesce(bench)
          const run = await measureBurst(shop, bench.emulator, {
            config: name,
            latencyMs,
            concurrency,
            timeoutMs: HANG_MS,
            emailTag: `${name}-${runTag}-${latencyMs}-${concurrency}`,
            database: {
              url: bench.db.url,
              name: bench.database.name,
              exclude: own ? [own.pid] : [],
            },
          })
          log(describeBurst(run))
          if (run.fiveHundreds > 0) {
            const lines = running.backend.logs().filter((line) => /error|could not/i.test(line))
            log(`${name}: ${run.fiveHundreds} answers 5xx; the backend's last error lines:`)
            process.stdout.write(`${lines.slice(-10).join("\n")}\n`)
          }
          let restarted = false
          if (run.hung > 0) {
            log(`${name}: ${run.hung} completions hung; last backend lines:`)
            process.stdout.write(`${running.backend.logs().slice(-30).join("\n")}\n`)
            await running.backend.stop(5_000)
            running = await startConfig(bench, config)
            shop = await shopOn(bench, running)
            restarted = true
          }
          result.runs.push({ ...run, restarted })
        }
      }
    } finally {
      const errors = stripeErrorsSince(bench.emulator, since)
      if (errors.length > 0) {
        results.stripeErrors[name] = [
          ...new Set([...(results.stripeErrors[name] ?? []), ...errors]),
        ]
      }
      await running.backend.stop()
    }
  }
  result.measured = measuredSince(date, load)
  return result
}

/**
 * What the measured call counts allow at `latencyMs` per call: the wall-time ratio to the
 * official plugin can go no lower than the ratio of calls, nor, with Medusa's own time per
 * checkout, than (base + calls × latency) / (base + official calls × latency).
 */
function callBound(r: BenchResults, latencyMs: number, base: number | undefined): string {
  if (!r.calls.ours || !r.calls.official) return ""
  const ours = callsOf(r.calls.ours.firstTime, CHECKOUT_STEPS)
  const official = callsOf(r.calls.official.firstTime, CHECKOUT_STEPS)
  const floor = ratio(ours, official)
  if (ours === undefined || official === undefined || floor === null) return ""
  let text = ` A checkout makes ${ours} Stripe calls here against ${official} for the official plugin (first-time customer), so the ratio cannot go below ${floor.toFixed(2)} even if Medusa took no time at all`
  const expected =
    base !== undefined ? ratio(base + ours * latencyMs, base + official * latencyMs) : null
  if (base !== undefined && expected !== null) {
    const ms = Math.round(base)
    text += `; with the ${ms} ms Medusa itself spends per checkout here (manual baseline), (${ms} + ${ours}×${latencyMs}) / (${ms} + ${official}×${latencyMs}) = ${expected.toFixed(2)} is what the call counts allow`
  }
  return `${text}.`
}

/** Targets of the issue that this run did not meet, with the figures behind them. */
function findings(r: BenchResults): string[] {
  const out: string[] = []
  if (r.calls.ours) out.push(...callFindings(r.calls.ours))

  const top = Math.max(...r.settings.latenciesMs)
  const ours = r.latency.ours?.find((run) => run.latencyMs === top)
  const official = r.latency.official?.find((run) => run.latencyMs === top)
  const manual = r.latency.manual?.[0]
  const vsOfficial = ratio(ours?.total.median, official?.total.median)
  if (vsOfficial !== null && vsOfficial > 0.6) {
    out.push(
      `Checkout wall time at ${top} ms: ${vsOfficial.toFixed(2)} of the official plugin (target ≤ 0.60).${callBound(r, top, manual?.total.median)}`
    )
  }
  const tOurs = r.throughput.ours
  const tManual = r.throughput.manual
  const vsManual = ratio(tOurs?.perSecond, tManual?.perSecond)
  if (vsManual !== null && vsManual < 0.9) {
    out.push(
      `Throughput at concurrency 16: ${vsManual.toFixed(2)} of the manual baseline (target ≥ 0.90); backend CPU per checkout ${Math.round(tOurs?.backendCpuMsPerCheckout ?? 0)} ms against ${Math.round(tManual?.backendCpuMsPerCheckout ?? 0)} ms, bench process (client + emulator) ${Math.round(tOurs?.clientCpuMsPerCheckout ?? 0)} ms against ${Math.round(tManual?.clientCpuMsPerCheckout ?? 0)} ms.`
    )
  }
  const w = r.webhooks?.ingestion
  if (w && w.acksPerSecond < 1000) {
    out.push(`Webhook ingestion: ${Math.round(w.acksPerSecond)} acknowledged/s (target ≥ 1,000/s).`)
  }
  if (w && w.latency.p99 >= 50) {
    out.push(`Webhook acknowledge p99: ${w.latency.p99.toFixed(1)} ms (target < 50 ms).`)
  }
  if (w && Object.keys(w.failures).length > 0) {
    out.push(`Webhook deliveries not acknowledged with 2xx: ${JSON.stringify(w.failures)}.`)
  }
  if (r.concurrency) out.push(...concurrencyFindings(r.concurrency))
  out.push(...instancesFindings(r.instances))
  const m = r.memory
  if (m && m.rssGrowthPercent > 10) {
    out.push(
      `Memory: RSS after a full GC grew ${m.rssGrowthMiB.toFixed(1)} MiB (${m.rssGrowthPercent.toFixed(1)} %) over ${m.checkouts} checkouts after the warm-up (more than 10 %); V8 heap used ${m.warm.heapUsedMiB.toFixed(1)} -> ${m.after.heapUsedMiB.toFixed(1)} MiB.`
    )
  }
  for (const [name, list] of Object.entries(r.stripeErrors)) {
    if (list && list.length > 0)
      out.push(`Stripe errors during the ${name} runs: ${list.join("; ")}`)
  }
  return out
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
