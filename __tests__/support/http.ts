import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./seed-data"

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export class HttpError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown
  ) {
    super(
      `${method} ${path} -> ${status}: ${typeof body === "string" ? body : JSON.stringify(body)}`
    )
    this.name = "HttpError"
  }
}

export interface RequestOptions {
  headers?: Record<string, string>
  /** Resolve with the response whatever its status, instead of throwing on non-2xx. */
  allowError?: boolean
  /** Abort the request after this long (default 30 s). */
  timeoutMs?: number
}

export interface ApiResponse<T> {
  status: number
  ok: boolean
  headers: Headers
  body: T
}

export class ApiClient {
  readonly headers: Record<string, string>

  constructor(
    readonly baseUrl: string,
    headers: Record<string, string> = {}
  ) {
    this.headers = { ...headers }
  }

  /** Full response, never throws on the status (network errors still throw). */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {}
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: "application/json", ...this.headers }
    let payload: string | undefined
    if (body !== undefined) {
      headers["content-type"] = "application/json"
      payload = JSON.stringify(body)
    }
    Object.assign(headers, options.headers ?? {})
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    })
    const text = await res.text()
    let parsed: unknown = text
    if (text && (res.headers.get("content-type") ?? "").includes("json")) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    }
    return { status: res.status, ok: res.ok, headers: res.headers, body: parsed as T }
  }

  /** The parsed body; throws HttpError with the body on non-2xx unless `allowError`. */
  async send<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {}
  ): Promise<T> {
    const res = await this.request<T>(method, path, body, options)
    if (!res.ok && !options.allowError) {
      throw new HttpError(method, path, res.status, res.body)
    }
    return res.body
  }

  get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.send<T>("GET", path, undefined, options)
  }

  post<T = unknown>(path: string, body: unknown = {}, options?: RequestOptions): Promise<T> {
    return this.send<T>("POST", path, body, options)
  }

  delete<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.send<T>("DELETE", path, undefined, options)
  }
}

/** Store API (`/store/...` paths). */
export function storeClient(baseUrl: string): ApiClient {
  return new ApiClient(baseUrl)
}

export class AdminClient extends ApiClient {
  token?: string

  /** `POST /admin/auth/token`; later requests carry the bearer token. */
  async login(email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<string> {
    const { access_token } = await this.post<{ access_token: string }>("/admin/auth/token", {
      email,
      password,
    })
    this.token = access_token
    this.headers.authorization = `Bearer ${access_token}`
    return access_token
  }
}

/** Admin API (`/admin/...` paths); call `login()` first. */
export function adminClient(baseUrl: string): AdminClient {
  return new AdminClient(baseUrl)
}
