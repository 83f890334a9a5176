import type { LatencyRun } from "./load"
import { ms, num, table } from "./markdown"
import type { BenchResults } from "./results"
import { concurrencySection, instancesSection } from "./report-load"
import { STEP_REQUESTS, STOREFRONT_STEPS } from "./shop"
import { ratio } from "./stats"
import { CALL_ROWS, CHECKOUT_STEPS, CHECKOUT_TARGET, callsOf } from "./targets"

const x = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v.toFixed(2))

function callsSection(r: BenchResults): string {
  const ours = r.calls.ours
  const official = r.calls.official
  if (!ours && !official) return ""
  const cell = (flow: "firstTime" | "returning", which = ours, steps = CALL_ROWS[0].steps) => {
    if (!which) return "–"
    const n = callsOf(which[flow], steps)
    return n === undefined ? "–" : String(n)
  }
  const rows = CALL_ROWS.map((row) => {
    const show = (flow: "firstTime" | "returning", which = ours) =>
      row.only && row.only !== flow ? "" : cell(flow, which, row.steps)
    return [
      row.label,
      row.targetText,
      show("firstTime"),
      show("returning"),
      show("firstTime", official),
      show("returning", official),
    ]
  })
  rows.push([
    "**Checkout total (cart → order)**",
    `${CHECKOUT_TARGET.firstTime} first-time / ${CHECKOUT_TARGET.returning} returning`,
    `**${cell("firstTime", ours, CHECKOUT_STEPS)}**`,
    `**${cell("returning", ours, CHECKOUT_STEPS)}**`,
    `**${cell("firstTime", official, CHECKOUT_STEPS)}**`,
    `**${cell("returning", official, CHECKOUT_STEPS)}**`,
  ])
  const detail = (label: string, which = ours) => {
    if (!which) return ""
    const lines = ["firstTime", "returning"].flatMap((flow) =>
      which[flow as "firstTime" | "returning"]
        .filter((s) => s.calls > 0)
        .map(
          (s) =>
            `- ${flow === "firstTime" ? "first-time" : "returning"}, \`${s.step}\`: ${s.requests.map((q) => `\`${q}\``).join(", ")}`
        )
    )
    return `<details><summary>${label}: every Stripe request, per step</summary>\n\n${lines.join("\n")}\n\n</details>`
  }
  return [
    "## 1. Stripe calls per checkout step",
    "",
    "Counted by the emulator (its per-route counters are reset before each step and read 300 ms after the answer, so background work set off by a request counts for it). Flow A: a first-time customer checks out, the merchant captures and refunds 5.00. Flow B: the same customer checks out again and the merchant cancels the order. The shopper's confirmation at Stripe (Stripe.js, here the emulator) is not a backend call and is not counted.",
    "",
    table(
      [
        "Step",
        "Target",
        "this plugin, first-time",
        "this plugin, returning",
        "official, first-time",
        "official, returning",
      ],
      rows
    ),
    "",
    detail("This plugin"),
    "",
    detail("Official plugin", official),
  ].join("\n")
}

function latencySection(r: BenchResults): string {
  const ours = r.latency.ours ?? []
  const official = r.latency.official ?? []
  const manual = r.latency.manual?.[0]
  if (ours.length === 0 && official.length === 0 && !manual) return ""
  const at = (runs: LatencyRun[], latency: number) => runs.find((run) => run.latencyMs === latency)
  const rows = r.settings.latenciesMs.map((latency) => {
    const o = at(ours, latency)
    const f = at(official, latency)
    const above = (run?: LatencyRun) =>
      run && manual && latency > 0 ? run.total.median - manual.total.median : undefined
    const added = ratio(above(o), above(f))
    return [
      `${latency} ms`,
      `${ms(o?.total.median)} / ${ms(o?.total.p95)}`,
      `${ms(f?.total.median)} / ${ms(f?.total.p95)}`,
      `${ms(manual?.total.median)} / ${ms(manual?.total.p95)}`,
      `**${x(ratio(o?.total.median, f?.total.median))}** / ${x(ratio(o?.total.p95, f?.total.p95))}`,
      `${x(ratio(o?.total.median, manual?.total.median))} / ${x(ratio(o?.total.p95, manual?.total.p95))}`,
      `${x(ratio(f?.total.median, manual?.total.median))} / ${x(ratio(f?.total.p95, manual?.total.p95))}`,
      x(added),
    ]
  })
  const top = Math.max(...r.settings.latenciesMs)
  const o = at(ours, top)
  const f = at(official, top)
  const stepRows = STOREFRONT_STEPS.map((step) => [
    `\`${step}\` ${STEP_REQUESTS[step]}`,
    ms(o?.stepMedians[step]),
    ms(f?.stepMedians[step]),
    ms(manual?.stepMedians[step]),
  ])
  const n = ours[0]?.checkouts ?? official[0]?.checkouts ?? manual?.checkouts ?? 0
  return [
    "## 2. Checkout wall time with Stripe latency",
    "",
    `One checkout = the 11 storefront requests of flow A (first-time customer each time), one after another, timed from request to response; the shopper's confirmation at Stripe is outside the timing. ${n} checkouts per cell, measured in two passes over the configurations (manual, official, this plugin, then the reverse), half in each, each half after ${r.settings.latencyWarmup} untimed one${r.settings.latencyWarmup === 1 ? "" : "s"}; median / p95 in ms. The emulator adds the latency to every Stripe API request. The manual baseline makes no Stripe request, so it was measured at 0 ms only and is the same in every row.`,
    "",
    table(
      [
        "Stripe latency per call",
        "this plugin",
        "official",
        "manual baseline",
        "this ÷ official",
        "this ÷ manual",
        "official ÷ manual",
        "time above manual: this ÷ official",
      ],
      rows
    ),
    "",
    `Median per request at ${top} ms (ms):`,
    "",
    table(["Request", "this plugin", "official", "manual"], stepRows),
  ].join("\n")
}

function throughputSection(r: BenchResults): string {
  const t = r.throughput
  if (!t.ours && !t.official && !t.manual) return ""
  const names = [
    ["ours", "this plugin"],
    ["official", "official"],
    ["manual", "manual baseline"],
  ] as const
  const rows = names
    .filter(([key]) => t[key])
    .map(([key, label]) => {
      const run = t[key]
      return [
        label,
        `**${num(run?.perSecond, 2)}**`,
        `**${x(ratio(run?.perSecond, t.manual?.perSecond))}**`,
        x(ratio(run?.perSecond, t.official?.perSecond)),
        (run?.rounds ?? []).map((round) => round.perSecond.toFixed(2)).join(", "),
        `${ms(run?.checkoutMs.median)} / ${ms(run?.checkoutMs.p95)}`,
        ms(run?.backendCpuMsPerCheckout),
        x(ratio(run?.backendCpuMsPerCheckout, t.manual?.backendCpuMsPerCheckout)),
        ms(run?.clientCpuMsPerCheckout),
        `${run?.checkouts ?? 0} / ${run?.errors.length ?? 0}`,
      ]
    })
  const s = r.settings
  return [
    `## 3. Throughput at concurrency ${s.concurrency}, no added latency`,
    "",
    `${s.throughputRounds} round${s.throughputRounds === 1 ? "" : "s"}; in each, every backend is started afresh, takes ${s.throughputWarmup} warm-up checkouts, then ${s.throughputCheckouts} checkouts (the flow above) by ${s.concurrency} concurrent shoppers. The order alternates between rounds (manual, official, this plugin, then the reverse) so that a drift in the machine's load does not favour one side. Checkouts/s = all checkouts over all measured time. CPU per checkout: user + system time of the backend process (from /proc), and of the bench process, which is the HTTP client and, for the Stripe plugins, the in-process emulator.`,
    "",
    table(
      [
        "backend",
        "checkouts/s",
        "÷ manual",
        "÷ official",
        "per round",
        "checkout ms under load (median / p95)",
        "backend CPU ms per checkout",
        "backend CPU ÷ manual",
        "bench process CPU ms per checkout",
        "checkouts / errors",
      ],
      rows
    ),
  ].join("\n")
}

function webhookSection(r: BenchResults): string {
  const w = r.webhooks
  if (!w) return ""
  const i = w.ingestion
  const kinds = Object.entries(i.byKind).map(([kind, v]) => [
    kind === "duplicate"
      ? `duplicate \`${i.duplicateOf}\` (already processed)`
      : `unhandled types (${i.unknownTypes.join(", ")})`,
    String(v.deliveries),
    num(v.latency.median),
    num(v.latency.p99),
    num(v.latency.max),
  ])
  const failures = Object.entries(i.failures)
    .map(([status, n]) => `${n}× ${status === "0" ? "no response" : status}`)
    .join(", ")
  return [
    "## 4. Webhook ingestion (this plugin)",
    "",
    `Signed deliveries (\`Stripe-Signature\` from the SDK's \`generateTestHeaderString\`, the backend's \`webhook_secret\`) to \`POST /stripe/hooks\` on 127.0.0.1, ${i.concurrency} at a time, after ${r.settings.webhookWarmup} warm-up deliveries. Every other delivery is the same real \`payment_intent.succeeded\` (already processed, so it is deduplicated), the others are events of types the plugin does not act on, each with its own id.`,
    "",
    table(
      [
        "deliveries",
        "acknowledged/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "not 2xx",
        "backend CPU ms per delivery",
      ],
      [
        [
          String(i.deliveries),
          `**${num(i.acksPerSecond, 0)}**`,
          num(i.latency.median),
          `**${num(i.latency.p99)}**`,
          num(i.latency.max),
          failures || "0",
          num(i.backendCpuMsPerDelivery, 2),
        ],
      ]
    ),
    "",
    table(["kind", "deliveries", "p50 ms", "p99 ms", "max ms"], kinds),
    "",
    "For comparison, the same client and concurrency against requests that do less:",
    "",
    table(
      ["requests", "answered/s", "p50 ms", "p99 ms", "backend CPU ms per request"],
      [
        [
          "signed deliveries above",
          num(i.acksPerSecond, 0),
          num(i.latency.median),
          num(i.latency.p99),
          num(i.backendCpuMsPerDelivery, 2),
        ],
        ...w.reference.map((ref) => [
          ref.label,
          num(ref.perSecond, 0),
          num(ref.latency.median),
          num(ref.latency.p99),
          num(ref.backendCpuMsPerRequest, 2),
        ]),
      ]
    ),
    "",
    `Tab closed: the shopper confirms and never calls complete; the signed \`payment_intent.amount_capturable_updated\` is delivered and the database is polled every 20 ms for the order. ${w.tabClosed.carts} carts, one after another.`,
    "",
    table(
      ["delivery → order (median)", "p95", "max", "acknowledged in (median ms)"],
      [
        [
          `${ms(w.tabClosed.deliveryToOrder.median)} ms`,
          `${ms(w.tabClosed.deliveryToOrder.p95)} ms`,
          `${ms(w.tabClosed.deliveryToOrder.max)} ms`,
          num(w.tabClosed.ackMs.median),
        ],
      ]
    ),
  ].join("\n")
}

function memorySection(r: BenchResults): string {
  const m = r.memory
  if (!m) return ""
  const sign = (v: number) => (v >= 0 ? "+" : "")
  const samples = m.samples
    .map(
      (snap) => `${snap.checkouts}: ${Math.round(snap.rssMiB)} / ${Math.round(snap.heapUsedMiB)}`
    )
    .join(" · ")
  return [
    `## 5. Memory (${m.config})`,
    "",
    `Resident set size (VmRSS) and V8 heap in use of the backend process, each read right after a full garbage collection (see Method): idle after start, idle after ${m.warmup} warm-up checkouts, and idle after ${m.checkouts} more checkouts at concurrency ${m.concurrency} (${m.errors} errors, ${Math.round(m.seconds / 60)} min).`,
    "",
    table(
      [
        "",
        "after start",
        `after ${m.warmup} warm-up`,
        `after ${m.checkouts} checkouts`,
        "growth after warm-up",
      ],
      [
        [
          "RSS",
          `${num(m.boot.rssMiB)} MiB`,
          `${num(m.warm.rssMiB)} MiB`,
          `${num(m.after.rssMiB)} MiB`,
          `**${sign(m.rssGrowthMiB)}${num(m.rssGrowthMiB)} MiB (${sign(m.rssGrowthPercent)}${num(m.rssGrowthPercent)} %)**`,
        ],
        [
          "V8 heap used",
          `${num(m.boot.heapUsedMiB)} MiB`,
          `${num(m.warm.heapUsedMiB)} MiB`,
          `${num(m.after.heapUsedMiB)} MiB`,
          `${sign(m.heapGrowthMiB)}${num(m.heapGrowthMiB)} MiB`,
        ],
      ]
    ),
    "",
    `Along the run, under load (checkouts: RSS / heap MiB, after a full GC): ${samples}. Without the forced collection, VmRSS at the end read ${num(m.rssAfterNoGcMiB)} MiB.`,
  ].join("\n")
}

function methodSection(r: BenchResults): string {
  const s = r.settings
  return [
    "## Method",
    "",
    `- One run, one PostgreSQL database, one Stripe emulator (in the bench process, on 127.0.0.1), one Medusa ${r.meta.medusa} app. The three plugins register the same provider ids (\`stripe\`, \`stripe-ideal\`, ...), so they cannot share a backend process: each configuration gets its own backend, started afresh against the same database, twice for sections 1, 2 and 4 (the medusa-payment-manual-only baseline, the official plugin, this plugin, then the reverse order; section 1 in the first pass, section 4 in the second), once per round for section 3 (again in alternating order), and one more for section 5. The database grows along the run (every checkout makes an order); the alternating order keeps that drift from favouring one configuration. Every measurement starts after \`VACUUM ANALYZE\`, a \`CHECKPOINT\` and one second of rest, so that neither autovacuum, a plan change from stale statistics nor PostgreSQL writing out pages, all set off by the previous measurement's writes, lands in it.`,
    `- Migrations and the seed ran once, with this plugin. Region Europe (EUR, tax 0) offers \`stripe\` and \`manual\`; one product at 25.00 EUR in ${s.variants} variants, flat shipping 8.00 EUR. Sequential checkouts buy the first variant; concurrent ones (sections 3 and 5) take the variants in turn, so that their completions do not all queue on one variant's stock row. Every configuration runs the same storefront requests; the Stripe plugins select \`stripe\`, the baseline selects \`manual\`.`,
    `- This plugin is installed from its \`npm pack\` tarball, like the end-to-end tests do. The official plugin, \`${r.meta.official}\` (with \`stripe@${r.meta.officialStripe}\`), is installed once into \`bench/.work/\` with \`npm install --no-save --legacy-peer-deps\`, so that it resolves \`@medusajs/medusa\` from the repository, and is loaded by an absolute path. Both get \`capture: false\` (authorize at checkout, capture from the admin).`,
    "- The official plugin has no option for the API host. Its backend is started with `NODE_OPTIONS=--require bench/lib/stripe-host-shim.js`: the preload resolves the `stripe` module from the official plugin's directory, wraps its constructor and adds the emulator's `host`, `port` and `protocol` to the options of every client made; nothing else changes (same API version, `2022-11-15`, same retries, same agent). This plugin is pointed at the emulator with its own `host`/`port`/`protocol` options.",
    `- No webhook endpoint is registered on the emulator during sections 1-3, so no event reaches a backend and every counted call belongs to the checkout. Section 4 signs and posts events itself.`,
    "- Every backend also loads `bench/lib/gc-probe.js` (`--require`): on SIGUSR2 it runs a full garbage collection and prints `process.memoryUsage()`. Only section 5 sends the signal; memory is read after it so that the figures show what the backend retains rather than where the collector happened to be (RSS with a 16-way concurrent Medusa swings by 100-200 MiB between collections).",
    `- Every backend gets a database pool of ${s.databasePoolSize} connections (\`database_extra.max\`): with Medusa's default of 10, 16 concurrent checkouts deadlocked the manual-only backend (requests holding a pooled connection waiting for another one).`,
    `- Settings: latencies ${s.latenciesMs.join(", ")} ms, ${s.latencyCheckouts} checkouts each after ${s.latencyWarmup} warm-up; throughput ${s.throughputRounds} × ${s.throughputCheckouts} checkouts at concurrency ${s.concurrency}, each after ${s.throughputWarmup}; ${s.webhookDeliveries} webhook deliveries at concurrency ${s.webhookConcurrency} after ${s.webhookWarmup}; ${s.tabClosedCarts} tab-closed carts; memory ${s.memoryCheckouts} checkouts after ${s.memoryWarmup}.`,
    "- Ratios are the headline: absolute times depend on the machine, and on a 2-core machine the database, the backend and the load generator share the cores.",
  ].join("\n")
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.meta
  const errors = Object.entries(r.stripeErrors).filter(([, list]) => list && list.length > 0)
  return [
    "# Benchmarks: medusa-stripe-payments, the official plugin and the manual baseline",
    "",
    `Generated by \`npm run bench\`${m.quick ? " (BENCH_QUICK=1: a short smoke run, not the reference figures)" : ""} on ${m.date}.`,
    "",
    table(
      ["machine", "value"],
      [
        ["CPU cores", String(m.cores)],
        ["CPU", m.cpuModel],
        ["memory", `${num(m.memoryGiB)} GiB`],
        ["OS", m.os],
        ["Node.js", m.node],
        ["Medusa", `@medusajs/medusa ${m.medusa}`],
        ["this plugin", `${m.plugin} (stripe@${m.pluginStripe})`],
        ["official plugin", `${m.official} (stripe@${m.officialStripe})`],
        [
          "load average at start / end",
          `${m.loadAverageStart.map((v) => v.toFixed(2)).join(" ")} / ${m.loadAverageEnd.map((v) => v.toFixed(2)).join(" ")}`,
        ],
        ["run time", `${Math.round(m.durationSeconds / 60)} min`],
      ]
    ),
    "",
    "## Targets",
    "",
    r.findings.length === 0
      ? "Every target was met."
      : ["Targets not met in this run:", "", ...r.findings.map((f) => `- ${f}`)].join("\n"),
    ...(errors.length > 0
      ? [
          "",
          "Stripe requests the emulator refused:",
          "",
          ...errors.map(([name, list]) => `- ${name}: ${(list ?? []).join("; ")}`),
        ]
      : []),
    "",
    callsSection(r),
    "",
    latencySection(r),
    "",
    throughputSection(r),
    "",
    webhookSection(r),
    "",
    memorySection(r),
    "",
    concurrencySection(r.concurrency),
    "",
    instancesSection(r.instances),
    "",
    methodSection(r),
    "",
  ]
    .filter((part, i, all) => !(part === "" && all[i - 1] === ""))
    .join("\n")
}
