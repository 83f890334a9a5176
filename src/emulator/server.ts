import http from "http"
import type { AddressInfo, Socket } from "net"
import qs from "qs"
import type { Fault, Faults, RequestStats } from "./controls"
import { ApiError, apiError, invalidRequest, unrecognizedUrl, type StripeErrorBody } from "./errors"
import { API_VERSION } from "./events"
import type { IdempotencyKeys } from "./idempotency"
import { isRecord, type Params } from "./params"
import { randomToken } from "./random"
import type { RouteTable } from "./routes"
import { loadSpec, requestValidator, type HttpMethod } from "./schema"

/** What a control (`/_emulator/...`) request gets back. */
export interface ControlResponse {
  status: number
  /** JSON body, unless `html` or `redirect` is set. */
  body?: unknown
  html?: string
  redirect?: string
}

export type ControlHandler = (
  method: string,
  path: string,
  query: Params,
  body: unknown
) => Promise<ControlResponse>

export interface ServerParts {
  routes: RouteTable
  faults: Faults
  stats: RequestStats
  idempotency: IdempotencyKeys
  control: ControlHandler
}

const MAX_BODY_BYTES = 1 << 20

const QS_OPTIONS = { arrayLimit: 1000, depth: 20, parameterLimit: 10_000, allowPrototypes: false }

const NO_KEY_MESSAGE =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."

const PUBLISHABLE_KEY_MESSAGE =
  "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys."

const SECRET_KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/

const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Credentials": "true",
  "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS, DELETE",
  "Access-Control-Allow-Headers":
    "Authorization, Content-Type, Idempotency-Key, Stripe-Account, Stripe-Version, User-Agent, X-Stripe-Client-User-Agent",
  "Access-Control-Expose-Headers":
    "Request-Id, Stripe-Manage-Version, Stripe-Should-Retry, X-Stripe-External-Auth-Required, X-Stripe-Privileged-Session-Required, Idempotent-Replayed, Original-Request",
  "Access-Control-Max-Age": "300",
}

function redact(key: string): string {
  if (key.length <= 12) return key.replace(/.(?=.{4})/g, "*")
  return `${key.slice(0, 8)}${"*".repeat(Math.max(4, key.length - 12))}${key.slice(-4)}`
}

/** The API key of a request, or the authentication error Stripe would answer with. */
export function authenticate(header: string | undefined): ApiError | undefined {
  if (!header) return new ApiError(401, { type: "invalid_request_error", message: NO_KEY_MESSAGE })
  let key = ""
  const bearer = /^Bearer\s+(.+)$/i.exec(header)
  const basic = /^Basic\s+(.+)$/i.exec(header)
  if (bearer) key = bearer[1].trim()
  else if (basic) key = Buffer.from(basic[1], "base64").toString("utf8").split(":")[0]
  if (!key) return new ApiError(401, { type: "invalid_request_error", message: NO_KEY_MESSAGE })
  if (/^pk_(test|live)_/.test(key)) {
    return new ApiError(403, { type: "invalid_request_error", message: PUBLISHABLE_KEY_MESSAGE })
  }
  if (!SECRET_KEY.test(key)) {
    return new ApiError(401, {
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${redact(key)}`,
    })
  }
  return undefined
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(
          new ApiError(413, { type: "invalid_request_error", message: "Request body too large" })
        )
        request.destroy()
        return
      }
      chunks.push(chunk)
    })
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })
}

function errorPayload(error: ApiError, requestId: string): string {
  const body: StripeErrorBody = {
    ...error.body,
    request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}`,
  }
  return JSON.stringify({ error: body })
}

function notImplementedNote(method: string, path: string): string | undefined {
  const segments = path.split("/")
  const spec = loadSpec()
  for (const specPath of Object.keys(spec.paths)) {
    const template = specPath.split("/")
    if (template.length !== segments.length) continue
    const same = template.every(
      (part, i) => part === segments[i] || (part.startsWith("{") && segments[i] !== "")
    )
    if (same && spec.paths[specPath][method.toLowerCase()]) {
      return `The Stripe API has this endpoint (${method} ${specPath}) but the Stripe emulator does not implement it.`
    }
  }
  return undefined
}

interface Outcome {
  status: number
  payload: string
  headers: Record<string, string>
}

/** The HTTP front: routing, authentication, validation, idempotency, faults, logging. */
export class EmulatorServer {
  private readonly server: http.Server
  private readonly sockets = new Set<Socket>()
  private readonly holds = new Set<NodeJS.Timeout>()

  constructor(private readonly parts: ServerParts) {
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (response.headersSent || response.destroyed) return
        const message = error instanceof Error ? error.message : String(error)
        const payload = JSON.stringify({ error: { type: "api_error", message } })
        response.writeHead(500, { "Content-Type": "application/json" }).end(payload)
      })
    })
    this.server.keepAliveTimeout = 60_000
    this.server.headersTimeout = 65_000
    this.server.on("connection", (socket) => {
      socket.setNoDelay(true)
      this.sockets.add(socket)
      socket.on("close", () => this.sockets.delete(socket))
    })
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject)
      this.server.listen(port, host, () => {
        this.server.off("error", reject)
        resolve((this.server.address() as AddressInfo).port)
      })
    })
  }

  close(): Promise<void> {
    for (const hold of this.holds) clearTimeout(hold)
    this.holds.clear()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const socket of this.sockets) socket.destroy()
      this.sockets.clear()
    })
  }

  private async handle(
    request: http.IncomingMessage,
    response: http.ServerResponse
  ): Promise<void> {
    const started = performance.now()
    const startedAt = Date.now()
    const requestId = `req_${randomToken(14)}`
    const method = (request.method ?? "GET").toUpperCase()
    const rawUrl = request.url ?? "/"
    const queryStart = rawUrl.indexOf("?")
    const path = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart)
    const query = queryStart < 0 ? "" : rawUrl.slice(queryStart + 1)
    const version = request.headers["stripe-version"]
    const headers: Record<string, string> = {
      "Request-Id": requestId,
      "Stripe-Version": typeof version === "string" && version ? version : API_VERSION,
    }
    if (request.headers.origin) Object.assign(headers, CORS_HEADERS)

    if (method === "OPTIONS") {
      response.writeHead(204, { ...headers, ...CORS_HEADERS }).end()
      return
    }
    if (path === "/_emulator" || path.startsWith("/_emulator/")) {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value)
      await this.handleControl(request, response, method, path, query)
      return
    }

    const { routes, faults, stats, idempotency } = this.parts
    const match = routes.match(method, path)
    const label = match?.route.label ?? null
    if (label) stats.count(label)
    const headerKey = request.headers["idempotency-key"]
    const key = method === "POST" && typeof headerKey === "string" && headerKey ? headerKey : null
    let replayed = false
    let fault: Fault | undefined = undefined
    const finish = (status: number | null): void => {
      stats.record({
        requestId,
        method,
        path,
        route: label,
        status,
        idempotencyKey: key,
        replayed,
        fault: fault?.kind ?? null,
        faultWhen: fault?.when ?? null,
        startedAt,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      })
    }
    const send = (outcome: Outcome): void => {
      if (response.destroyed || request.socket.destroyed) {
        finish(null)
        return
      }
      if (key) headers["Idempotency-Key"] = key
      response.writeHead(outcome.status, {
        ...headers,
        ...outcome.headers,
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(outcome.payload)),
      })
      response.end(outcome.payload)
      finish(outcome.status)
    }
    const sendError = (error: ApiError): void =>
      send({
        status: error.status,
        payload: errorPayload(error, requestId),
        headers: { ...error.headers },
      })

    let body: string
    try {
      body = await readBody(request)
    } catch (error) {
      if (error instanceof ApiError) sendError(error)
      return
    }
    const authError = authenticate(request.headers.authorization)
    if (authError) {
      sendError(authError)
      return
    }
    if (!match) {
      sendError(unrecognizedUrl(method, path, notImplementedNote(method, path)))
      return
    }

    let locked = false
    if (key) {
      try {
        const check = idempotency.begin(key, method, path, body)
        if (check.kind === "replay") {
          replayed = true
          send({
            status: check.response.status,
            payload: check.response.payload,
            headers: {
              "Idempotent-Replayed": "true",
              "Original-Request": check.response.requestId,
            },
          })
          return
        }
        locked = true
      } catch (error) {
        if (error instanceof ApiError) sendError(error)
        else throw error
        return
      }
    }
    const unlock = (): void => {
      if (locked) idempotency.release(key as string)
      locked = false
    }

    const latency = faults.latencyFor(match.route.label)
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency))
    fault = faults.take(match.route.label)
    if (fault?.when === "before") {
      unlock()
      this.applyFault(fault, request, response, requestId, headers, finish)
      return
    }

    let outcome: Outcome
    let saved = false
    try {
      const params = this.parseParams(method, query, body)
      const invalid = requestValidator(match.route.method, match.route.specPath)(params)
      if (invalid) {
        unlock()
        throw invalidRequest(invalid.message, {
          ...(invalid.code ? { code: invalid.code } : {}),
          param: invalid.param,
        })
      }
      const result = match.route.run({
        params,
        ids: match.ids,
        ctx: { requestId, idempotencyKey: key },
      })
      outcome = { status: 200, payload: JSON.stringify(result), headers: {} }
      saved = true
    } catch (error) {
      if (error instanceof ApiError) {
        outcome = {
          status: error.status,
          payload: errorPayload(error, requestId),
          headers: { ...error.headers },
        }
        saved = locked
      } else {
        const message = error instanceof Error ? error.message : String(error)
        outcome = {
          status: 500,
          payload: errorPayload(apiError(`The Stripe emulator failed: ${message}`), requestId),
          headers: {},
        }
        saved = false
      }
    }
    if (key && locked) {
      if (saved && outcome.status < 500) {
        idempotency.save(key, method, path, body, {
          status: outcome.status,
          payload: outcome.payload,
          requestId,
        })
        locked = false
      } else {
        unlock()
      }
    }
    if (key) headers["Original-Request"] = requestId
    if (fault?.when === "after") {
      this.applyFault(fault, request, response, requestId, headers, finish)
      return
    }
    send(outcome)
  }

  private parseParams(method: string, query: string, body: string): Params {
    const fromQuery = query ? (qs.parse(query, QS_OPTIONS) as Params) : {}
    if (method !== "POST" || !body) return fromQuery
    const fromBody = qs.parse(body, QS_OPTIONS) as Params
    return query ? { ...fromQuery, ...fromBody } : fromBody
  }

  private applyFault(
    fault: Fault,
    request: http.IncomingMessage,
    response: http.ServerResponse,
    requestId: string,
    headers: Record<string, string>,
    finish: (status: number | null) => void
  ): void {
    if (response.destroyed || request.socket.destroyed) {
      finish(null)
      return
    }
    switch (fault.kind) {
      case "500": {
        const payload = errorPayload(apiError(), requestId)
        response.writeHead(500, {
          ...headers,
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(payload)),
        })
        response.end(payload)
        finish(500)
        return
      }
      case "429": {
        const payload = errorPayload(
          invalidRequest(
            "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
            { status: 429, code: "rate_limit" }
          ),
          requestId
        )
        response.writeHead(429, {
          ...headers,
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(payload)),
          "Stripe-Should-Retry": "true",
          "Retry-After": "1",
        })
        response.end(payload)
        finish(429)
        return
      }
      case "reset":
        request.socket.destroy()
        finish(null)
        return
      case "timeout": {
        const hold = setTimeout(() => {
          this.holds.delete(hold)
          request.socket.destroy()
        }, fault.holdMs)
        this.holds.add(hold)
        finish(null)
        return
      }
    }
  }

  private async handleControl(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    method: string,
    path: string,
    query: string
  ): Promise<void> {
    let result: ControlResponse
    try {
      const raw = await readBody(request)
      let body: unknown = {}
      if (raw.trim()) {
        const type = request.headers["content-type"] ?? ""
        body = type.includes("application/x-www-form-urlencoded")
          ? qs.parse(raw, QS_OPTIONS)
          : JSON.parse(raw)
      }
      result = await this.parts.control(
        method,
        path,
        qs.parse(query, QS_OPTIONS) as Params,
        isRecord(body) ? body : {}
      )
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      result = { status: error instanceof SyntaxError ? 400 : 500, body: { error: { message } } }
    }
    if (result.redirect) {
      response.writeHead(result.status, { Location: result.redirect }).end()
      return
    }
    if (result.html !== undefined) {
      response
        .writeHead(result.status, { "Content-Type": "text/html; charset=utf-8" })
        .end(result.html)
      return
    }
    const payload = JSON.stringify(result.body ?? {})
    response.writeHead(result.status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(payload),
    })
    response.end(payload)
  }
}

export type { HttpMethod }
