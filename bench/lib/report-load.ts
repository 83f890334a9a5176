import type { MultiInstanceRun } from "../../__tests__/support/multi-instance"
import { ms, num, table } from "./markdown"
import { boundOf, concurrencyFindings, type ConcurrencyResult, type Measured } from "./concurrency"

/** Sections a partial run rewrites in place in RESULTS.md, between these markers. */
export const SPLICED_SECTIONS = ["concurrency", "instances"] as const
export type SplicedSection = (typeof SPLICED_SECTIONS)[number]

export interface InstancesResult {
  measured: Measured
  run: MultiInstanceRun
}

const LABELS: Record<string, string> = {
  ours: "this plugin",
  official: "official",
  manual: "manual baseline",
}

function machine(m: Measured): string {
  const load = (list: number[]) => list.map((v) => v.toFixed(2)).join(" ")
  return `Measured on ${m.date} on ${m.cores} cores (${m.cpuModel}), load average ${load(m.loadAverageStart)} at the start and ${load(m.loadAverageEnd)} at the end (the machine was shared with other work), in ${Math.round(m.seconds / 60)} min.`
}

function marked(name: SplicedSection, body: string): string {
  return `<!-- bench:${name} -->\n${body}\n<!-- /bench:${name} -->`
}

export function concurrencySection(r: ConcurrencyResult | undefined): string {
  if (!r) return ""
  const others = (statuses: Record<string, number>) =>
    Object.entries(statuses)
      .filter(([status]) => status !== "200")
      .map(([status, n]) => `${n}× ${status}`)
      .join(", ") || "–"
  const rows = r.runs.map((run) => {
    const b = boundOf(r, run)
    const showBound = run.latencyMs > 0 && b.bound !== undefined
    return [
      LABELS[run.config] ?? run.config,
      `${run.latencyMs} ms`,
      String(run.concurrency),
      `**${num(run.perSecond, 2)}**`,
      showBound ? num(b.bound, 2) : "–",
      showBound && b.bound ? `**${num(run.perSecond / b.bound, 2)}**` : "–",
      ms(run.completionMs.median),
      ms(run.completionMs.p99),
      `${run.ok}/${run.concurrency}`,
      String(run.fiveHundreds),
      `${run.hung}${run.restarted ? " (restarted)" : ""}`,
      others(run.statuses),
      num(run.stripeCallsPerCompletion, 2),
      String(run.peakConnections),
    ]
  })
  const formulas = r.runs
    .filter((run) => run.latencyMs > 0)
    .map((run) => {
      const b = boundOf(r, run)
      return b.text ? `- ${LABELS[run.config]}, ${run.concurrency} shoppers: ${b.text}` : ""
    })
    .filter(Boolean)
  const alone = Object.entries(r.aloneMs)
    .map(([name, v]) => `${LABELS[name]} ${ms(v)} ms`)
    .join(", ")
  const findings = concurrencyFindings(r)
  const samples = r.runs
    .filter((run) => run.samples.length > 0)
    .map(
      (run) =>
        `- ${LABELS[run.config]}, ${run.concurrency} shoppers at ${run.latencyMs} ms: ${run.samples.map((s) => `\`${s.replace(/`/g, "'")}\``).join("; ")}`
    )
  const body = [
    `## 6. Shoppers completing at once, ${r.latencyMs} ms Stripe latency, Medusa's default pool`,
    "",
    machine(r.measured),
    "",
    `Each backend is started afresh with Medusa's default database pool (\`database_extra.max\` unset: ${r.medusaPool} connections) and, for this plugin, its default \`lock_pool_size\` (${r.lockPool}) and \`query_pool_size\` (${r.queryPool}). For each number of shoppers N (${r.levels.join(", ")}), N carts are prepared at 0 ms, 8 at a time (item, address, shipping, payment session selected and, for Stripe, confirmed by the shopper at the emulator), then all N press "complete" at the same moment while the emulator adds the latency to every Stripe request. A completion without an answer within ${r.timeoutMs / 1000} s counts as hung: the request is abandoned and the backend restarted before the next burst. Orders/s = orders over the time from the first request to the last answer. The manual baseline makes no Stripe request and runs at 0 ms only. Connections: the peak count in \`pg_stat_activity\` for the bench database, sampled every 100 ms, the bench's own clients left out. Stripe calls: requests the emulator received during the burst, per order. One burst per cell: on a shared two-core machine a cell can move by a third between runs, so compare the rows of one run rather than single cells.`,
    "",
    table(
      [
        "backend",
        "Stripe latency",
        "shoppers",
        "orders/s",
        "bound",
        "÷ bound",
        "p50 ms",
        "p99 ms",
        "orders",
        "5xx",
        "hung",
        "other answers",
        "Stripe calls per completion",
        "peak connections",
      ],
      rows
    ),
    "",
    `**Bound.** What the Stripe round trips allow is min(X₀, min(N, S) / (k × L + t₁)): X₀ is the orders/s of the same backend with the same N shoppers at 0 ms (what the two cores allow), k the Stripe calls per completion (counted), L the latency, t₁ one completion alone at 0 ms (median of five in a row: ${alone}), and S how many completions one process can keep waiting for Stripe at once. This plugin holds a connection of its lock pool (\`lock_pool_size\`, ${r.lockPool}) and one of Medusa's pool (${r.medusaPool}, Medusa's completion transaction) for the whole completion, Stripe call included: S = ${r.lockPool} per process; a completion that finds no free lock connection waits up to 10 s, then answers 503 with \`Retry-After\`. The official plugin holds only Medusa's transaction: S = ${r.medusaPool}. Above S, completions queue, which shows in the p99 and not in the orders/s. Of the completions holding a lock, this plugin lets three at a time do their work before the Stripe call, so that their waits for Stripe overlap other completions' work (the README's Connections section). X₀ is itself one burst: a ratio above 1 means the 0 ms burst ran slower than the 300 ms one on the shared machine, not that the bound can be beaten.`,
    "",
    ...formulas,
    "",
    findings.length === 0
      ? "Targets (no hang and no 5xx at any number of shoppers, this plugin at ≥ 0.90 of the bound): met."
      : ["Targets not met:", "", ...findings.map((f) => `- ${f}`)].join("\n"),
    ...(samples.length > 0
      ? ["", "Answers that were not an order (first ones):", "", ...samples]
      : []),
  ].join("\n")
  return marked("concurrency", body)
}

export function instancesFindings(r: InstancesResult | undefined): string[] {
  if (!r) return []
  const run = r.run
  const out: string[] = []
  const prefix = `Four instances, ${run.checkouts} checkouts`
  if (run.hung.length > 0) out.push(`${prefix}: ${run.hung.length} requests without an answer.`)
  if (run.fiveHundreds.length > 0) out.push(`${prefix}: ${run.fiveHundreds.length} answered 5xx.`)
  if (run.wrongOrders.length > 0) {
    out.push(
      `${prefix}: carts without exactly one order: ${run.wrongOrders.map((w) => `${w.cartId} (${w.orders})`).join(", ")}.`
    )
  }
  if (run.doubleCaptures.length > 0) {
    out.push(
      `${prefix}: intents captured more than once: ${run.doubleCaptures.map((d) => `${d.intentId} (${d.captures})`).join(", ")}.`
    )
  }
  if (run.uncaptured.length > 0) out.push(`${prefix}: not captured: ${run.uncaptured.join("; ")}.`)
  if (run.failures.length > 0) {
    // Grouped by what went wrong, ids and ports left out.
    const kinds = new Map<string, number>()
    for (const failure of run.failures) {
      const kind = failure
        .replace(/^shopper \d+/, "shopper")
        .replace(/\b(cart|pi|order)_[A-Za-z0-9]+/g, "$1_…")
        .replace(/127\.0\.0\.1:\d+/g, "a server")
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    }
    for (const [kind, n] of kinds) out.push(`${prefix}: ${n}× ${kind}`)
  }
  return out
}

export function instancesSection(r: InstancesResult | undefined): string {
  if (!r) return ""
  const run = r.run
  const findings = instancesFindings(r)
  const statuses = (map: Record<string | number, number>) =>
    Object.entries(map)
      .map(([status, n]) => `${n}× ${status}`)
      .join(", ")
  const body = [
    "## 7. Four backend processes on one database, Redis event bus",
    "",
    machine(r.measured),
    "",
    `Two \`worker_mode: "server"\` instances take the storefront, the admin and Stripe's webhooks; two \`worker_mode: "worker"\` instances run the event subscribers (\`MEDUSA_WORKER_MODE\`), all with \`@medusajs/event-bus-redis\` and the plugin's defaults, capture ${run.capture ? "automatic (`STRIPE_CAPTURE=true`)" : "by the merchant"}. The emulator's one webhook endpoint is a small proxy that hands each delivery to one of the two servers at random. ${run.checkouts} shoppers start at once, each on a random server: cart, payment session, confirmation at Stripe, then by turns nothing (the tab is closed, only the webhook can complete the cart), one completion on a random server, or two at once, one on each server. Stripe's events are held and released every 1.5 s, newest first, every event delivered twice (\`webhooks.configure({ duplicates: 1, reorder: true })\`). Then the merchant captures ${run.capture ? "nothing (Stripe captured at confirmation)" : "every other order, pressing capture on both servers at once"}. Same scenario as \`__tests__/e2e/multi-instance.spec.ts\` (which runs 60 by default; \`MULTI_INSTANCE_CHECKOUTS=200\` for this count). Seed ${run.seed}.`,
    "",
    table(
      ["", "value"],
      [
        ["carts paid at Stripe", `${run.paid} of ${run.checkouts}`],
        [
          "endings (tab closed / one completion / two at once)",
          `${run.endings["webhook-only"]} / ${run.endings.complete} / ${run.endings["complete-twice"]}`,
        ],
        [
          "first cart to last order",
          `${run.seconds.toFixed(1)} s (${run.checkoutsPerSecond.toFixed(2)} checkouts/s)`,
        ],
        ["completion and capture answers", statuses(run.statuses)],
        ["5xx / hung (no answer in 60 s)", `**${run.fiveHundreds.length} / ${run.hung.length}**`],
        [
          "paid carts by their number of orders",
          `**${Object.entries(run.ordersPerCart)
            .map(([orders, carts]) => `${carts} with ${orders}`)
            .join(", ")}**`,
        ],
        [
          "captures pressed / carried out by Stripe / intents captured twice",
          `${run.capturesRequested} / ${run.captureCalls} / **${run.doubleCaptures.length}**`,
        ],
        [
          "webhook deliveries (duplicates) / per server",
          `${run.deliveries.total} (${run.deliveries.duplicates}) / ${run.deliveries.perServer.join(" and ")}`,
        ],
        ["answers to the deliveries", statuses(run.deliveries.statuses)],
        ["stripe_webhook_event rows at the end", statuses(run.webhookEvents)],
        ["peak connections (4 processes)", String(run.peakConnections)],
      ]
    ),
    "",
    findings.length === 0
      ? "Targets (exactly one order per paid cart, at most one capture per intent, no 5xx, no hang): met."
      : ["Targets not met:", "", ...findings.map((f) => `- ${f}`)].join("\n"),
  ].join("\n")
  return marked("instances", body)
}

/**
 * RESULTS.md with the blocks of `sections` replaced (or added before the Method section),
 * for a run of these sections only: the other sections keep the figures of their own run.
 */
export function spliceSections(
  markdown: string,
  blocks: Partial<Record<SplicedSection, string>>
): string {
  let out = markdown
  for (const name of SPLICED_SECTIONS) {
    const block = blocks[name]
    if (!block) continue
    const start = `<!-- bench:${name} -->`
    const end = `<!-- /bench:${name} -->`
    const i = out.indexOf(start)
    const j = out.indexOf(end)
    if (i >= 0 && j > i) {
      out = `${out.slice(0, i)}${block}${out.slice(j + end.length)}`
    } else {
      const method = out.indexOf("\n## Method")
      out =
        method >= 0
          ? `${out.slice(0, method)}\n${block}\n${out.slice(method)}`
          : `${out.trimEnd()}\n\n${block}\n`
    }
  }
  return out
}
