import fs from "fs"
import os from "os"
import path from "path"
import { spawnSync } from "child_process"
import { REPO_ROOT } from "../../support"
import type { AuditResult } from "./audit"
import type { Anomaly } from "./context"
import type { ChaosScale } from "./scale"

export interface SummaryRow {
  scenario: string
  cases: number
  /** Stripe failures, kills and outage failures put in the way; hostile requests are cases. */
  injected: number
  orders: number
  charges: number
  anomalies: number
  note: string
}

export interface ChaosSummary {
  scale: ChaosScale
  startedAt: string
  durationMs: number
  machine: { cpus: number; memoryGb: number; node: string; platform: string }
  rows: SummaryRow[]
  anomalies: Anomaly[]
  details: Record<string, unknown>
  audit?: AuditResult
}

export function newSummary(scale: ChaosScale): ChaosSummary {
  return {
    scale,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    machine: {
      cpus: os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
    },
    rows: [],
    anomalies: [],
    details: {},
  }
}

function pad(text: string, width: number, right: boolean): string {
  return right ? text.padStart(width) : text.padEnd(width)
}

/** The summary as a Markdown table (readable as plain text too). */
export function renderTable(rows: SummaryRow[]): string {
  const total: SummaryRow = {
    scenario: "total",
    cases: rows.reduce((s, r) => s + r.cases, 0),
    injected: rows.reduce((s, r) => s + r.injected, 0),
    orders: rows.reduce((s, r) => s + r.orders, 0),
    charges: rows.reduce((s, r) => s + r.charges, 0),
    anomalies: rows.reduce((s, r) => s + r.anomalies, 0),
    note: "",
  }
  const header = [
    "scenario",
    "cases tried",
    "failures injected",
    "orders",
    "charges",
    "anomalies",
    "notes",
  ]
  const cells = [...rows, total].map((r) => [
    r.scenario,
    String(r.cases),
    String(r.injected),
    String(r.orders),
    String(r.charges),
    String(r.anomalies),
    r.note,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const numeric = (i: number) => i >= 1 && i <= 5
  const line = (values: string[]) =>
    `| ${values.map((v, i) => pad(v, widths[i], numeric(i))).join(" | ")} |`
  const rule = `|${widths.map((w, i) => (numeric(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`
  return [line(header), rule, ...cells.map(line)].join("\n")
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000)
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}

export function renderMarkdown(summary: ChaosSummary): string {
  const { scale, machine } = summary
  const audit = summary.audit
  const lines = [
    "# Reliability and abuse run",
    "",
    `Run on ${summary.startedAt.slice(0, 10)} with \`npm run test:chaos\` (\`CHAOS_SCALE=${scale.name}\`) on ${machine.cpus} CPUs, ${machine.memoryGb} GB, Node.js ${machine.node}, ${machine.platform}: a real Medusa 1.20 backend with the plugin installed from its npm tarball, PostgreSQL, and the bundled Stripe emulator. Duration ${minutes(summary.durationMs)}.`,
    "",
    renderTable(summary.rows),
    "",
    "## What each scenario does",
    "",
    `- **hostile store input**: tampered \`payment_session.data\` (amounts, another cart's intent and client secret, statuses, extra and prototype keys, oversized values), impossible quantities, amounts above Stripe's maximum and below its minimum, a payment method and a currency Stripe refuses, and a cart without an email. Every refusal must be a clear 4xx from the plugin (Medusa's own validation is reported apart), and nothing may change what is charged or which intent completes a cart.`,
    `- **stripe faults**: ${scale.checkouts} checkouts, ${scale.concurrency} at a time, while ${Math.round(scale.failureRate * 100)}% of the backend's Stripe requests fail: 500, 429 with \`Retry-After\`, connection reset, and requests held ${scale.faultHoldMs} ms, past the client timeout of ${scale.sdkTimeoutMs} ms (${scale.sdkMaxNetworkRetries} SDK retries, same idempotency key). Faults alternate between before and after Stripe did the work. Shoppers retry what fails; afterwards, once webhooks settle: one order per cart, no cart with two intents holding money, no authorized intent outside an order.`,
    `- **crash**: the backend is killed with SIGKILL after Stripe authorized the payment and before the order is written (while Stripe's answer to the authorization read is held back${scale.crashDelaysMs.length > 0 ? `, ${scale.crashDelaysMs.join(", ")} ms after it arrived` : ""}, and once Medusa recorded the authorized payment), restarted on the same port; Stripe redelivers the intent's events and the shopper retries. Exactly one order, paid by that intent, for its amount, authorized and not captured.`,
    `- **stripe outage**: Stripe unreachable from the backend for ${minutes(scale.outageMs)} (connections reset or left hanging); shoppers who paid and return, shoppers who paid and left, shoppers who reach the payment step during the outage. Clear errors within the retry budget, a healthy backend, and afterwards one order per paid cart.`,
    `- **hostile webhooks**: ${scale.webhookCases} generated requests (seed ${scale.seed}) on \`POST /stripe/hooks\`: missing, malformed, forged, replayed and expired signatures, another secret, bodies changed after signing, truncated, oversized, not JSON or not an event, and correctly signed events of unknown types, of other carts, of carts that do not exist, replays of processed events, and events whose amount differs from the order. The right status every time, no crash, a flat response time, and no change in Medusa or at Stripe.`,
    "- **secrets**: every backend log line, Store and Admin API response, webhook answer and the payment session data sent to the storefront, scanned for the run's API key and webhook secret and anything shaped like `sk_`, `rk_` or `whsec_`.",
    "- **dependencies**: `npm audit --omit=dev`.",
    "",
  ]
  if (summary.anomalies.length > 0) {
    lines.push("## Anomalies", "")
    const groups = new Map<string, Anomaly[]>()
    for (const found of summary.anomalies) {
      const key = `${found.scenario}, ${found.kind}`
      groups.set(key, [...(groups.get(key) ?? []), found])
    }
    for (const [key, found] of groups) {
      const example = found[0].detail.replace(/\n/g, " ")
      lines.push(
        `- **${key}** (${found.length}): ${example.length > 400 ? `${example.slice(0, 400)}...` : example}`
      )
    }
    lines.push("")
  }
  const details = summary.details
  if (details["stripe faults"]) {
    const faults = details["stripe faults"] as {
      injectedBy: Record<string, number>
      stripeRequests: number
      firstTry: number
      recovered: number
      gaveUp: number
      failedRequests: number
      errors: { status: number | string; message: string; count: number }[]
      checkoutMsP50: number
      checkoutMsP95: number
      durationMs: number
    }
    lines.push(
      "## Stripe faults",
      "",
      `${faults.stripeRequests} Stripe requests in ${minutes(faults.durationMs)}; injected: ${Object.entries(
        faults.injectedBy
      )
        .map(([kind, n]) => `${kind} ${n}`)
        .join(
          ", "
        )}. Checkouts completed at the first try: ${faults.firstTry}; after a failed request and a retry: ${faults.recovered}; abandoned: ${faults.gaveUp}. Checkout time p50 ${faults.checkoutMsP50} ms, p95 ${faults.checkoutMsP95} ms.`,
      "",
      `What the shoppers were told (${faults.failedRequests} failed requests):`,
      "",
      ...faults.errors
        .slice(0, 12)
        .map((e) => `- ${e.count} x ${e.status} ${e.message.replace(/\n/g, " ")}`),
      ""
    )
  }
  if (details["hostile webhooks"]) {
    const hooks = details["hostile webhooks"] as {
      byKind: Record<string, { cases: number; expected: string; wrong: number }>
      latencyP50: number
      latencyP95: number
      latencyMax: number
      latencyDeciles: { p50: number; p95: number }[]
    }
    lines.push(
      "## Hostile webhooks",
      "",
      "| case | requests | expected | wrong |",
      "|---|---:|---:|---:|",
      ...Object.entries(hooks.byKind)
        .sort((a, b) => b[1].cases - a[1].cases)
        .map(([kind, v]) => `| ${kind} | ${v.cases} | ${v.expected} | ${v.wrong} |`),
      "",
      `Response time p50 ${hooks.latencyP50} ms, p95 ${hooks.latencyP95} ms, max ${hooks.latencyMax} ms; p95 per tenth of the run: ${hooks.latencyDeciles
        .map((d) => d.p95)
        .join(", ")} ms.`,
      ""
    )
  }
  if (details["hostile store input"]) {
    const input = details["hostile store input"] as {
      cases: { name: string; owner: string; status: number; message: string }[]
      medusaNotes: string[]
    }
    lines.push(
      "## Hostile store input",
      "",
      "| input | answer |",
      "|---|---|",
      ...input.cases.map(
        (c) =>
          `| ${c.name} | ${c.status} ${c.message.replace(/\n/g, " ").replace(/\|/g, "/").slice(0, 120)} |`
      ),
      ""
    )
    if (input.medusaNotes.length > 0) {
      lines.push(
        "Answered by Medusa's own validation, not the plugin:",
        "",
        ...input.medusaNotes.map((n) => `- ${n}`),
        ""
      )
    }
  }
  lines.push("## Dependencies", "")
  if (!audit) {
    lines.push("`npm audit --omit=dev` was not run.", "")
  } else if (!audit.ran) {
    lines.push(
      `\`${audit.command}\` got no answer from the advisory service: ${audit.error}. ${audit.productionPackages} production packages in package-lock.json.`,
      ""
    )
  } else {
    lines.push(
      `\`${audit.command}\`: ${Object.entries(audit.vulnerabilities)
        .map(([severity, n]) => `${severity} ${n}`)
        .join(", ")} (${audit.productionPackages} production packages).`,
      "",
      ...audit.advisories.slice(0, 20).map((a) => `- ${a.severity}: ${a.name} (${a.title})`),
      ""
    )
  }
  lines.push(
    "## Running it",
    "",
    "```sh",
    "npm run test:chaos                            # this run, written to bench/CHAOS.md",
    "npx jest --selectProjects chaos --runInBand   # short form: 40 checkouts, 1,000 webhook cases, a 10 s outage",
    "```",
    "",
    "Sizes can be overridden with `CHAOS_CHECKOUTS`, `CHAOS_CONCURRENCY`, `CHAOS_WEBHOOK_CASES`, `CHAOS_OUTAGE_MS` and `CHAOS_SEED`; `CHAOS_VERBOSE=1` prints progress.",
    ""
  )
  return lines.join("\n")
}

/** The repository's Prettier style, so that the written file passes `format:check`. */
function formatMarkdown(file: string, text: string): string {
  try {
    const bin = path.join(
      path.dirname(require.resolve("prettier/package.json")),
      "bin",
      "prettier.cjs"
    )
    const result = spawnSync(process.execPath, [bin, "--stdin-filepath", file], {
      cwd: REPO_ROOT,
      input: text,
      encoding: "utf8",
      timeout: 30_000,
    })
    return result.status === 0 && result.stdout ? result.stdout : text
  } catch {
    return text
  }
}

/** The JSON result always (git-ignored), and bench/CHAOS.md for the full run. */
export function writeSummary(summary: ChaosSummary): string[] {
  const written: string[] = []
  const resultsDir = path.join(REPO_ROOT, "bench", "results")
  fs.mkdirSync(resultsDir, { recursive: true })
  const stamp = summary.startedAt.replace(/[:.]/g, "-")
  const json = path.join(resultsDir, `chaos-${summary.scale.name}-${stamp}.json`)
  fs.writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`)
  written.push(json)
  if (summary.scale.name === "full") {
    const md = path.join(REPO_ROOT, "bench", "CHAOS.md")
    fs.writeFileSync(md, formatMarkdown(md, renderMarkdown(summary)))
    written.push(md)
  }
  return written
}
