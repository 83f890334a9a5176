import http from "http"
import type { AddressInfo } from "net"
import Stripe from "stripe"
import { StripeEmulator, type StripeEmulatorOptions } from "../../src/emulator"

export const API_KEY = "sk_test_emulator"

export async function startEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  return StripeEmulator.start({
    port: 0,
    webhookRetry: { attempts: 4, baseDelayMs: 20 },
    ...options,
  })
}

/** The real SDK pointed at the emulator; no automatic retries unless asked. */
export function stripeFor(
  emulator: StripeEmulator,
  config: Partial<Stripe.StripeConfig> = {},
  key = API_KEY
): Stripe {
  return new Stripe(key, {
    apiVersion: "2024-04-10",
    ...emulator.stripeConfig(),
    maxNetworkRetries: 0,
    telemetry: false,
    ...config,
  })
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 3000, intervalMs = 5 }: { timeoutMs?: number; intervalMs?: number } = {}
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
      last = value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(`Condition not met within ${timeoutMs} ms (last: ${String(last)})`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Runs `action` and returns the Stripe error it rejects with. */
export async function stripeError(
  action: () => Promise<unknown>
): Promise<Stripe.errors.StripeError> {
  try {
    await action()
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error
    throw error
  }
  throw new Error("Expected a Stripe error, but the call succeeded")
}

export interface ReceivedWebhook {
  body: string
  signature: string
  event: Stripe.Event
}

/** A local HTTP endpoint recording webhook deliveries; `status` decides each answer. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = []
  status: (attempt: number, body: string) => number = () => 200
  private attempts = 0
  private server?: http.Server
  url = ""

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        this.attempts += 1
        const status = this.status(this.attempts, body)
        if (status >= 200 && status < 300) {
          this.received.push({
            body,
            signature: String(request.headers["stripe-signature"] ?? ""),
            event: JSON.parse(body) as Stripe.Event,
          })
        }
        response.writeHead(status, { "Content-Type": "application/json" }).end("{}")
      })
    })
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`
    return this
  }

  get attemptCount(): number {
    return this.attempts
  }

  types(): string[] {
    return this.received.map((hook) => hook.event.type)
  }

  clear(): void {
    this.received.length = 0
    this.attempts = 0
    this.status = () => 200
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
  }
}

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: unknown
  text: string
}

/** A plain HTTP request to the emulator, for what the SDK cannot send. */
export function rawRequest(
  emulator: StripeEmulator,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {}
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${emulator.url}${path}`,
      {
        method,
        headers: {
          ...(options.body !== undefined
            ? { "Content-Type": "application/x-www-form-urlencoded" }
            : {}),
          ...options.headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8")
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            // not JSON
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text })
        })
      }
    )
    request.on("error", reject)
    request.end(options.body)
  })
}
