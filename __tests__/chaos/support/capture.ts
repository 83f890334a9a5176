import { ApiClient, type ApiResponse, type RequestOptions } from "../../support"

/** A value that looks like a Stripe secret key, restricted key or webhook signing secret. */
export const SECRET_PATTERN =
  /(?<![A-Za-z0-9])(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{6,}|whsec_[A-Za-z0-9]{6,}/g

export type CaptureSource =
  "store response" | "admin response" | "webhook response" | "session data"

export interface Leak {
  source: CaptureSource | "backend log"
  where: string
  /** The leaked value, shortened so that the report does not repeat it. */
  sample: string
}

function shorten(value: string): string {
  return `${value.slice(0, 9)}...(${value.length} chars)`
}

/**
 * Everything the suite receives from the backend is scanned for secrets as it arrives:
 * Store and Admin API responses, webhook answers and the payment session data inside carts.
 */
export class Capture {
  readonly counts: Record<CaptureSource, number> = {
    "store response": 0,
    "admin response": 0,
    "webhook response": 0,
    "session data": 0,
  }
  bytes = 0
  readonly leaks: Leak[] = []

  constructor(private readonly secrets: () => string[]) {}

  scan(source: CaptureSource | "backend log", where: string, text: string): void {
    if (source !== "backend log") {
      this.counts[source] += 1
    }
    this.bytes += text.length
    const found = new Set<string>()
    for (const match of text.matchAll(SECRET_PATTERN)) {
      found.add(match[0])
    }
    for (const secret of this.secrets()) {
      if (secret && text.includes(secret)) {
        found.add(secret)
      }
    }
    for (const value of found) {
      if (this.leaks.length < 50) {
        this.leaks.push({ source, where, sample: shorten(value) })
      }
    }
  }

  /** Scans a response body, and the payment session data of any cart in it. */
  scanResponse(source: CaptureSource, where: string, body: unknown): void {
    this.scan(source, where, typeof body === "string" ? body : (JSON.stringify(body) ?? ""))
    for (const data of sessionDataIn(body)) {
      this.scan("session data", where, JSON.stringify(data))
    }
  }
}

/** `payment_session.data` and `payment_sessions[].data` of every cart found in a response. */
export function sessionDataIn(body: unknown, depth = 0): unknown[] {
  if (depth > 4 || typeof body !== "object" || body === null) {
    return []
  }
  const record = body as Record<string, unknown>
  const found: unknown[] = []
  const session = record.payment_session as Record<string, unknown> | null | undefined
  if (session && typeof session === "object" && session.data) {
    found.push(session.data)
  }
  const sessions = record.payment_sessions
  if (Array.isArray(sessions)) {
    for (const entry of sessions) {
      if (entry && typeof entry === "object" && (entry as Record<string, unknown>).data) {
        found.push((entry as Record<string, unknown>).data)
      }
    }
  }
  for (const key of ["cart", "data", "order"]) {
    if (record[key] && typeof record[key] === "object") {
      found.push(...sessionDataIn(record[key], depth + 1))
    }
  }
  return found
}

/** An API client whose every response is scanned by a {@link Capture}. */
export class RecordingClient extends ApiClient {
  requests = 0

  constructor(
    baseUrl: string,
    private readonly capture: Capture,
    private readonly source: "store response" | "admin response" = "store response"
  ) {
    super(baseUrl)
  }

  override async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {}
  ): Promise<ApiResponse<T>> {
    this.requests += 1
    const res = await super.request<T>(method, path, body, options)
    this.capture.scanResponse(this.source, `${method} ${path} -> ${res.status}`, res.body)
    return res
  }
}
