import net from "net"
import { WEBHOOK_PATH } from "../../support"
import { anomaly, type Anomaly, type ChaosContext } from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import { diffState, settleWebhooks, snapshotState } from "../support/ledger"
import { Shopper } from "../support/shopper"
import { mapConcurrent, percentile, round, slices } from "../support/stats"
import {
  generateWebhookCases,
  type OpenCartTarget,
  type PaidOrderTarget,
  type WebhookCase,
} from "../support/webhook-cases"

export const SCENARIO = "hostile webhooks"

export interface WebhookRunResult {
  cases: number
  byKind: Record<string, { cases: number; expected: string; wrong: number }>
  byStatus: Record<string, number>
  wrongStatus: number
  durationMs: number
  /** p50/p95 of each tenth of the run (normal-size requests), in order. */
  latencyDeciles: { p50: number; p95: number }[]
  /** Median response time of the first and of the last fifth of the run. */
  latencyFirstP50: number
  latencyLastP50: number
  latencyP50: number
  latencyP95: number
  latencyMax: number
  stateChanges: string[]
  anomalies: Anomaly[]
}

interface Outcome {
  status: number | "closed"
  ms: number
  message: string
}

async function sendCase(url: string, c: WebhookCase): Promise<Outcome> {
  const started = performance.now()
  if (c.truncatedTransfer) {
    return sendTruncated(url, c, started)
  }
  try {
    const res = await fetch(`${url}${WEBHOOK_PATH}`, {
      method: "POST",
      headers: c.headers,
      body: c.body,
      signal: AbortSignal.timeout(30_000),
    })
    const text = await res.text()
    return { status: res.status, ms: performance.now() - started, message: text.slice(0, 300) }
  } catch (error) {
    return {
      status: "closed",
      ms: performance.now() - started,
      message:
        error instanceof Error
          ? `${error.message} ${String((error as { cause?: unknown }).cause ?? "")}`
          : String(error),
    }
  }
}

/** Declares more bytes than it sends, then closes its side: the backend must shrug it off. */
function sendTruncated(url: string, c: WebhookCase, started: number): Promise<Outcome> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname)
    let response = ""
    const done = () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(response)
      resolve({
        status: match ? Number(match[1]) : "closed",
        ms: performance.now() - started,
        message: response.slice(0, 300),
      })
    }
    socket.setTimeout(10_000, () => socket.destroy())
    socket.on("data", (chunk) => (response += chunk.toString("utf8")))
    socket.on("close", done)
    socket.on("error", () => undefined)
    socket.on("connect", () => {
      const head = [
        `POST ${WEBHOOK_PATH} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        ...Object.entries(c.headers).map(([name, value]) => `${name}: ${value}`),
        `Content-Length: ${c.truncatedTransfer?.declaredLength ?? 0}`,
        "Connection: close",
        "",
        "",
      ].join("\r\n")
      socket.write(head)
      socket.end(c.body)
    })
  })
}

function matches(expect: WebhookCase["expect"], status: Outcome["status"]): boolean {
  if (expect === "closed or 400") {
    return status === "closed" || status === 400
  }
  return status === expect
}

/** Paid orders and unpaid carts of this scenario's own, so that nothing else is at stake. */
async function prepareTargets(
  ctx: ChaosContext
): Promise<{ orders: PaidOrderTarget[]; openCarts: OpenCartTarget[] }> {
  const target = await checkoutTarget(ctx)
  const orders: PaidOrderTarget[] = []
  const openCarts: OpenCartTarget[] = []
  await mapConcurrent([0, 1, 2, 3, 4, 5], 3, async (i) => {
    const shopper = new Shopper(ctx, 30_000 + i, { email: `webhook-target-${i}@example.com` })
    await shopper.prepareCart(target.regionId, target.variantId, target.country)
    const cart = await shopper.selectStripe()
    const intentId = String(cart.payment_session?.data.id)
    if (i < 4) {
      await shopper.complete()
      const intent = ctx.emu.paymentIntent(intentId)
      orders.push({
        cartId: cart.id,
        intentId,
        amount: intent?.amount ?? 0,
        currency: intent?.currency ?? "eur",
      })
    } else {
      openCarts.push({ cartId: cart.id, intentId })
    }
  })
  return { orders, openCarts }
}

/**
 * Thousands of hostile requests against `POST /stripe/hooks`: every one must get the right
 * status code, the backend must stay up with a flat response time, and once the accepted ones
 * are processed nothing may have changed in Medusa or at Stripe.
 */
export async function runHostileWebhooks(ctx: ChaosContext): Promise<WebhookRunResult> {
  const { e2e, scale } = ctx
  const anomalies: Anomaly[] = []
  const { orders, openCarts } = await prepareTargets(ctx)
  await settleWebhooks(ctx, 60_000)

  const processed = await e2e.db.query<{ id: string }>(
    `SELECT id FROM stripe_webhook_event WHERE status = 'processed' ORDER BY created_at DESC LIMIT 50`
  )
  const processedEvents = processed
    .map((row) => ctx.emu.event(row.id))
    .filter((event): event is NonNullable<typeof event> => Boolean(event))
    .map((event) => ({ id: event.id, payload: JSON.stringify(event, null, 2) }))

  const cases = generateWebhookCases(
    {
      secret: e2e.secrets.webhookSecret,
      toleranceSeconds: 300,
      orders,
      openCarts,
      processedEvents,
    },
    scale.webhookCases,
    scale.seed
  )

  const before = await snapshotState(ctx)
  const rowsBefore = await e2e.db.count(`SELECT count(*) FROM stripe_webhook_event`)
  const url = ctx.backend().url
  const started = Date.now()
  let done = 0
  const outcomes = await mapConcurrent(cases, 4, async (c) => {
    const outcome = await sendCase(url, c)
    ctx.capture.scan("webhook response", `${c.kind} #${c.n}`, outcome.message)
    done += 1
    if (done % Math.max(1, Math.round(cases.length / 5)) === 0) {
      ctx.progress(`${SCENARIO}: ${done}/${cases.length} requests`)
    }
    return outcome
  })
  const durationMs = Date.now() - started

  const byKind: WebhookRunResult["byKind"] = {}
  const byStatus: Record<string, number> = {}
  let wrongStatus = 0
  cases.forEach((c, i) => {
    const outcome = outcomes[i]
    const entry = (byKind[c.kind] ??= { cases: 0, expected: String(c.expect), wrong: 0 })
    entry.cases += 1
    byStatus[String(outcome.status)] = (byStatus[String(outcome.status)] ?? 0) + 1
    if (!matches(c.expect, outcome.status)) {
      entry.wrong += 1
      wrongStatus += 1
      if (entry.wrong <= 3) {
        anomalies.push(
          anomaly(
            SCENARIO,
            "wrong status",
            `${c.kind} #${c.n}: expected ${c.expect}, got ${outcome.status} ${outcome.message.slice(0, 200)}`
          )
        )
      }
    }
  })

  const backend = ctx.backend()
  const exited = backend.exited()
  if (exited) {
    anomalies.push(anomaly(SCENARIO, "crash", `the backend exited: ${JSON.stringify(exited)}`))
  }
  const healthy = await fetch(`${url}/health`)
    .then((res) => res.ok)
    .catch(() => false)
  if (!healthy) {
    anomalies.push(anomaly(SCENARIO, "crash", "the backend no longer answers /health"))
  }

  const normal = cases
    .map((c, i) => ({ c, ms: outcomes[i].ms }))
    .filter(({ c }) => c.sizeClass === "normal")
    .map(({ ms }) => ms)
  const latencyDeciles = slices(normal, 10).map((slice) => ({
    p50: round(percentile(slice, 50)),
    p95: round(percentile(slice, 95)),
  }))
  // Flat: the end of the run is not slower than its start (medians, which a busy machine
  // disturbs far less than tails), and no tenth of the run stalls.
  const firstP50 = percentile(normal.slice(0, Math.ceil(normal.length / 5)), 50)
  const lastP50 = percentile(normal.slice(-Math.ceil(normal.length / 5)), 50)
  const typicalP95 = percentile(
    latencyDeciles.map((d) => d.p95),
    50
  )
  const worstP95 = Math.max(...latencyDeciles.map((d) => d.p95))
  if (
    lastP50 > Math.max(2.5 * firstP50, firstP50 + 25) ||
    worstP95 > Math.max(5 * typicalP95, 1_000)
  ) {
    anomalies.push(
      anomaly(
        SCENARIO,
        "response time not flat",
        `median of the first fifth ${round(firstP50)} ms, of the last fifth ${round(lastP50)} ms; p95 per tenth of the run: ${latencyDeciles.map((d) => d.p95).join(", ")} ms`
      )
    )
  }

  const settle = await settleWebhooks(ctx, 90_000)
  if (!settle.settled) {
    anomalies.push(
      anomaly(SCENARIO, "webhooks did not settle", JSON.stringify(settle.stuck.slice(0, 5)))
    )
  }
  const after = await snapshotState(ctx)
  const stateChanges = diffState(before, after)
  for (const change of stateChanges.slice(0, 20)) {
    anomalies.push(anomaly(SCENARIO, "state change", change))
  }

  const ids = [...new Set(cases.filter((c) => c.eventId).map((c) => c.eventId as string))]
  const recorded = new Set(
    (
      await e2e.db.query<{ id: string }>(`SELECT id FROM stripe_webhook_event WHERE id = ANY($1)`, [
        ids,
      ])
    ).map((row) => row.id)
  )
  const acceptedIds = new Set(cases.filter((c) => c.recorded === true).map((c) => c.eventId))
  for (const c of cases) {
    if (
      c.recorded === false &&
      c.eventId &&
      recorded.has(c.eventId) &&
      !acceptedIds.has(c.eventId)
    ) {
      anomalies.push(anomaly(SCENARIO, "refused event recorded", `${c.kind} #${c.n}: ${c.eventId}`))
    }
    if (c.recorded === true && c.eventId && !recorded.has(c.eventId)) {
      anomalies.push(
        anomaly(SCENARIO, "accepted event not recorded", `${c.kind} #${c.n}: ${c.eventId}`)
      )
    }
  }
  const rowsAfter = await e2e.db.count(`SELECT count(*) FROM stripe_webhook_event`)
  const newAccepted = new Set(
    cases
      .filter((c) => c.recorded === true && c.kind !== "replay of a processed event")
      .map((c) => c.eventId)
  ).size
  if (rowsAfter - rowsBefore !== newAccepted) {
    anomalies.push(
      anomaly(
        SCENARIO,
        "event table",
        `${rowsAfter - rowsBefore} rows added, ${newAccepted} distinct events were accepted`
      )
    )
  }

  return {
    cases: cases.length,
    byKind,
    byStatus,
    wrongStatus,
    durationMs,
    latencyDeciles,
    latencyFirstP50: round(firstP50),
    latencyLastP50: round(lastP50),
    latencyP50: round(percentile(normal, 50)),
    latencyP95: round(percentile(normal, 95)),
    latencyMax: round(Math.max(0, ...normal)),
    stateChanges,
    anomalies,
  }
}
