import { FAULT_KINDS, type FaultKind, type FaultTiming } from "./controls"
import { ApiError, EmulatorControlError } from "./errors"
import type { StripeEmulator } from "./index"
import { isRecord, type Params } from "./params"
import type { ControlHandler, ControlResponse } from "./server"

type Body = Record<string, unknown>

type ControlAction = (
  ids: string[],
  body: Body,
  query: Params
) => Promise<ControlResponse> | ControlResponse

interface ControlRoute {
  method: string
  segments: string[]
  action: ControlAction
}

const ok = (body: unknown = { ok: true }): ControlResponse => ({ status: 200, body })

function text(body: Body, ...keys: string[]): string | undefined {
  for (const key of keys) {
    if (typeof body[key] === "string") return body[key] as string
  }
  return undefined
}

function num(body: Body, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const value = body[key]
    if (typeof value === "number") return value
    if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)))
      return Number(value)
  }
  return undefined
}

function flag(body: Body, key: string): boolean | undefined {
  const value = body[key]
  if (typeof value === "boolean") return value
  if (value === "true") return true
  if (value === "false") return false
  return undefined
}

function faultKind(value: unknown): FaultKind {
  const kind = String(value ?? "500")
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new EmulatorControlError(`kind must be one of ${FAULT_KINDS.join(", ")}`)
  }
  return kind as FaultKind
}

function timing(value: unknown): FaultTiming | undefined {
  if (value === undefined) return undefined
  if (value !== "before" && value !== "after")
    throw new EmulatorControlError('when must be "before" or "after"')
  return value
}

function stringList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === "string") return [value]
  return undefined
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function withQuery(url: string, query: Record<string, string>): string {
  const target = new URL(url)
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value)
  return target.toString()
}

function hostedPage(emulator: StripeEmulator, id: string): ControlResponse {
  const intent = emulator.paymentIntent(id)
  const setup = id.startsWith("seti_")
    ? emulator.setupIntents().find((s) => s.id === id)
    : undefined
  if (!intent && !setup) return { status: 404, html: `<h1>No such intent: ${escapeHtml(id)}</h1>` }
  const amount = intent
    ? `${(intent.amount / 100).toFixed(2)} ${intent.currency.toUpperCase()}`
    : "setup"
  const status = intent?.status ?? setup?.status ?? ""
  const base = `/_emulator/hosted/${encodeURIComponent(id)}`
  return {
    status: 200,
    html: `<!doctype html>
<html><head><meta charset="utf-8"><title>Stripe emulator: authorize ${escapeHtml(id)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto}a{display:inline-block;margin:.5rem 1rem .5rem 0;padding:.6rem 1.2rem;border-radius:6px;color:#fff;text-decoration:none}.ok{background:#635bff}.ko{background:#c0392b}</style>
</head><body>
<h1>Test payment authorization</h1>
<p>${escapeHtml(id)} &middot; ${escapeHtml(amount)} &middot; status <code>${escapeHtml(status)}</code></p>
<a class="ok" href="${base}/complete">Authorize test payment</a>
<a class="ko" href="${base}/fail">Fail test payment</a>
</body></html>`,
  }
}

async function finishHosted(
  emulator: StripeEmulator,
  id: string,
  succeed: boolean
): Promise<ControlResponse> {
  const before = emulator.paymentIntent(id)
  const setup = id.startsWith("seti_")
    ? emulator.setupIntents().find((s) => s.id === id)
    : undefined
  const returnUrl =
    before?.next_action?.redirect_to_url?.return_url ??
    setup?.next_action?.redirect_to_url?.return_url ??
    null
  const result = succeed ? await emulator.completeAction(id) : await emulator.failAction(id)
  if (returnUrl) {
    const query: Record<string, string> =
      result.object === "payment_intent"
        ? {
            payment_intent: result.id,
            payment_intent_client_secret: result.client_secret ?? "",
            redirect_status: succeed ? "succeeded" : "failed",
          }
        : {
            setup_intent: result.id,
            setup_intent_client_secret: result.client_secret ?? "",
            redirect_status: succeed ? "succeeded" : "failed",
          }
    return { status: 302, redirect: withQuery(returnUrl, query) }
  }
  return {
    status: 200,
    html: `<!doctype html><html><body><h1>${escapeHtml(result.id)}: ${escapeHtml(result.status)}</h1></body></html>`,
  }
}

/** The `/_emulator` routes: every control of the handle, over HTTP with JSON bodies. */
export function controlRoutes(emulator: StripeEmulator): ControlRoute[] {
  const route = (method: string, path: string, action: ControlAction): ControlRoute => ({
    method,
    segments: path.split("/"),
    action,
  })
  return [
    route("GET", "/_emulator/health", () => ok({ ok: true, url: emulator.url })),
    route("POST", "/_emulator/reset", (_ids, body) => {
      emulator.reset({
        webhookEndpoints:
          flag(body, "webhookEndpoints") ?? flag(body, "webhook_endpoints") ?? false,
      })
      return ok()
    }),
    route("GET", "/_emulator/state", () => ok(emulator.state())),
    route("GET", "/_emulator/payment_intents", () => ok(emulator.paymentIntents())),
    route("GET", "/_emulator/payment_intents/:id", ([id]) => {
      const intent = emulator.paymentIntent(id)
      if (!intent) throw new EmulatorControlError(`No such payment_intent: '${id}'`, 404)
      return ok(intent)
    }),
    route("POST", "/_emulator/payment_intents/:id/confirm", async ([id], body) =>
      ok(await emulator.confirmPaymentIntent(id, body))
    ),
    route("POST", "/_emulator/payment_intents/:id/complete_action", async ([id]) =>
      ok(await emulator.completeAction(id))
    ),
    route("POST", "/_emulator/payment_intents/:id/fail_action", async ([id]) =>
      ok(await emulator.failAction(id))
    ),
    route("POST", "/_emulator/payment_intents/:id/settle", async ([id], body) => {
      const succeed = flag(body, "succeed")
      return ok(await emulator.settleProcessing(id, succeed === undefined ? {} : { succeed }))
    }),
    route("POST", "/_emulator/payment_intents/:id/dispute", async ([id], body) =>
      ok(await emulator.createDispute(id, disputeOptions(body)))
    ),
    route("POST", "/_emulator/charges/:id/dispute", async ([id], body) =>
      ok(await emulator.createDispute(id, disputeOptions(body)))
    ),
    route("POST", "/_emulator/disputes", async (_ids, body) => {
      const target = text(body, "charge", "payment_intent", "id")
      if (!target) throw new EmulatorControlError("Give the charge or payment_intent to dispute")
      return ok(await emulator.createDispute(target, disputeOptions(body)))
    }),
    route("POST", "/_emulator/payment_intents/:id/refund", async ([id], body) =>
      ok(await emulator.refundFromDashboard(id, num(body, "amount")))
    ),
    route("POST", "/_emulator/setup_intents/:id/complete_action", async ([id]) =>
      ok(await emulator.completeAction(id))
    ),
    route("POST", "/_emulator/setup_intents/:id/fail_action", async ([id]) =>
      ok(await emulator.failAction(id))
    ),
    route("POST", "/_emulator/refunds/fail_next", (_ids, body) => {
      const mode = text(body, "mode") ?? "error"
      if (mode !== "error" && mode !== "failed")
        throw new EmulatorControlError('mode must be "error" or "failed"')
      emulator.failNextRefund(mode)
      return ok()
    }),
    route("GET", "/_emulator/charges", () => ok(emulator.charges())),
    route("GET", "/_emulator/refunds", () => ok(emulator.refunds())),
    route("GET", "/_emulator/customers", () => ok(emulator.customers())),
    route("GET", "/_emulator/events", (_ids, _body, query) =>
      ok(emulator.events(typeof query.type === "string" ? query.type : undefined))
    ),
    route("GET", "/_emulator/faults", () => ok(emulator.faults.describe())),
    route("POST", "/_emulator/faults/latency", (_ids, body) => {
      emulator.faults.setLatency(num(body, "ms") ?? 0, text(body, "route"))
      return ok()
    }),
    route("POST", "/_emulator/faults/failure_rate", (_ids, body) => {
      const kinds = stringList(body.kinds)?.map(faultKind)
      const routes = stringList(body.routes)
      const when = timing(body.when)
      const holdMs = num(body, "holdMs", "hold_ms")
      emulator.faults.setFailureRate(num(body, "rate") ?? 0, {
        ...(kinds ? { kinds } : {}),
        ...(routes ? { routes } : {}),
        ...(when ? { when } : {}),
        ...(holdMs !== undefined ? { holdMs } : {}),
      })
      return ok()
    }),
    route("POST", "/_emulator/faults/fail_next", (_ids, body) => {
      const when = timing(body.when)
      const holdMs = num(body, "holdMs", "hold_ms")
      const routeMatcher = text(body, "route")
      emulator.faults.failNext(num(body, "count", "n") ?? 1, {
        kind: faultKind(body.kind),
        ...(routeMatcher ? { route: routeMatcher } : {}),
        ...(when ? { when } : {}),
        ...(holdMs !== undefined ? { holdMs } : {}),
      })
      return ok()
    }),
    route("POST", "/_emulator/faults/clear", () => {
      emulator.faults.clear()
      return ok()
    }),
    route("GET", "/_emulator/counters", () => ok(emulator.counters())),
    route("POST", "/_emulator/counters/reset", () => {
      emulator.resetCounters()
      return ok()
    }),
    route("GET", "/_emulator/requests", () => ok(emulator.requestLog())),
    route("POST", "/_emulator/requests/clear", () => {
      emulator.clearRequestLog()
      return ok()
    }),
    route("GET", "/_emulator/webhooks/endpoints", () => ok(emulator.webhooks.endpoints())),
    route("POST", "/_emulator/webhooks/endpoints", (_ids, body) => {
      const url = text(body, "url")
      if (!url) throw new EmulatorControlError("url is required")
      const secret = text(body, "secret")
      const enabledEvents = stringList(body.enabledEvents ?? body.enabled_events)
      return ok(
        emulator.webhooks.addEndpoint({
          url,
          ...(secret ? { secret } : {}),
          ...(enabledEvents ? { enabledEvents } : {}),
        })
      )
    }),
    route("DELETE", "/_emulator/webhooks/endpoints/:id", ([id]) => {
      emulator.webhooks.removeEndpoint(id)
      return ok()
    }),
    route("POST", "/_emulator/webhooks/pause", () => {
      emulator.webhooks.pause()
      return ok()
    }),
    route("POST", "/_emulator/webhooks/resume", () => {
      emulator.webhooks.resume()
      return ok()
    }),
    route("POST", "/_emulator/webhooks/flush", async () => {
      await emulator.webhooks.flush()
      return ok()
    }),
    route("POST", "/_emulator/webhooks/configure", (_ids, body) => {
      const duplicates = num(body, "duplicates")
      const reorder = flag(body, "reorder")
      const delayMs = num(body, "delayMs", "delay_ms")
      const timeoutMs = num(body, "timeoutMs", "timeout_ms")
      return ok(
        emulator.webhooks.configure({
          ...(duplicates !== undefined ? { duplicates } : {}),
          ...(reorder !== undefined ? { reorder } : {}),
          ...(delayMs !== undefined ? { delayMs } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        })
      )
    }),
    route("POST", "/_emulator/webhooks/duplicate_next", (_ids, body) => {
      emulator.webhooks.duplicateNext(num(body, "count", "n") ?? 1)
      return ok()
    }),
    route("GET", "/_emulator/webhooks/deliveries", () => ok(emulator.webhooks.deliveries())),
    route("POST", "/_emulator/webhooks/redeliver", async (_ids, body) => {
      const eventId = text(body, "eventId", "event_id", "event")
      if (!eventId) throw new EmulatorControlError("eventId is required")
      return ok(await emulator.webhooks.redeliver(eventId))
    }),
    route("GET", "/_emulator/hosted/:id", ([id]) => hostedPage(emulator, id)),
    route("GET", "/_emulator/hosted/:id/complete", ([id]) => finishHosted(emulator, id, true)),
    route("GET", "/_emulator/hosted/:id/fail", ([id]) => finishHosted(emulator, id, false)),
    route("GET", "/_emulator/receipts/:id", ([id]) => {
      const charge = emulator.charge(id)
      if (!charge) return { status: 404, html: "<h1>No such receipt</h1>" }
      return {
        status: 200,
        html: `<!doctype html><html><body><h1>Receipt</h1><p>${escapeHtml(charge.id)}: ${charge.amount_captured} ${escapeHtml(charge.currency)} (${escapeHtml(charge.status)})</p></body></html>`,
      }
    }),
  ]
}

function disputeOptions(body: Body): { reason?: string; amount?: number } {
  const reason = text(body, "reason")
  const amount = num(body, "amount")
  return { ...(reason ? { reason } : {}), ...(amount !== undefined ? { amount } : {}) }
}

/** Dispatches `/_emulator/...` requests to the emulator's controls. */
export function controlHandler(emulator: StripeEmulator): ControlHandler {
  let routes: ControlRoute[] | undefined
  return async (method, path, query, body) => {
    routes ??= controlRoutes(emulator)
    const segments = path.split("/")
    for (const candidate of routes) {
      if (candidate.method !== method || candidate.segments.length !== segments.length) continue
      const ids: string[] = []
      const matches = candidate.segments.every((segment, i) => {
        if (segment.startsWith(":")) {
          ids.push(decodeURIComponent(segments[i]))
          return segments[i] !== ""
        }
        return segment === segments[i]
      })
      if (!matches) continue
      try {
        return await candidate.action(ids, isRecord(body) ? body : {}, query)
      } catch (error) {
        if (error instanceof EmulatorControlError) {
          return { status: error.status, body: { error: { message: error.message } } }
        }
        if (error instanceof ApiError) return { status: error.status, body: { error: error.body } }
        throw error
      }
    }
    return {
      status: 404,
      body: { error: { message: `Unknown emulator control: ${method} ${path}` } },
    }
  }
}
