import http from "http"
import type Stripe from "stripe"
import type { FailNextOptions, FailureRateOptions, RequestLogEntry } from "./controls"
import { EmulatorControlError } from "./errors"
import type { ConfirmAsShopperParams, EmulatorState } from "./index"
import { isRecord } from "./params"
import type { RefundFailureMode } from "./refunds"
import type { AddEndpointInput, WebhookConfig, WebhookDelivery } from "./webhooks"

/**
 * The emulator's controls over HTTP, for a process that did not start it (a backend under
 * test, a script talking to `stripe-emulator`). Same names as the in-process handle.
 */
export class StripeEmulatorClient {
  readonly faults: {
    setLatency(ms: number, route?: string): Promise<void>
    setFailureRate(rate: number, options?: FailureRateOptions): Promise<void>
    failNext(count: number, options: FailNextOptions): Promise<void>
    clear(): Promise<void>
  }

  readonly webhooks: {
    addEndpoint(input: AddEndpointInput): Promise<{ id: string; secret: string }>
    removeEndpoint(id: string): Promise<void>
    pause(): Promise<void>
    resume(): Promise<void>
    flush(): Promise<void>
    configure(config: Partial<WebhookConfig>): Promise<WebhookConfig>
    duplicateNext(count?: number): Promise<void>
    deliveries(): Promise<WebhookDelivery[]>
    redeliver(eventId: string): Promise<WebhookDelivery[]>
  }

  constructor(readonly url: string) {
    this.faults = {
      setLatency: async (ms, route) => {
        await this.call("POST", "/faults/latency", { ms, ...(route ? { route } : {}) })
      },
      setFailureRate: async (rate, options = {}) => {
        await this.call("POST", "/faults/failure_rate", { rate, ...options })
      },
      failNext: async (count, options) => {
        await this.call("POST", "/faults/fail_next", { count, ...options })
      },
      clear: async () => {
        await this.call("POST", "/faults/clear")
      },
    }
    this.webhooks = {
      addEndpoint: (input) => this.call("POST", "/webhooks/endpoints", input),
      removeEndpoint: async (id) => {
        await this.call("DELETE", `/webhooks/endpoints/${encodeURIComponent(id)}`)
      },
      pause: async () => {
        await this.call("POST", "/webhooks/pause")
      },
      resume: async () => {
        await this.call("POST", "/webhooks/resume")
      },
      flush: async () => {
        await this.call("POST", "/webhooks/flush")
      },
      configure: (config) => this.call("POST", "/webhooks/configure", config),
      duplicateNext: async (count = 1) => {
        await this.call("POST", "/webhooks/duplicate_next", { count })
      },
      deliveries: () => this.call("GET", "/webhooks/deliveries"),
      redeliver: (eventId) => this.call("POST", "/webhooks/redeliver", { eventId }),
    }
  }

  /** Sends a control request; rejects with the emulator's message on errors. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const target = new URL(`/_emulator${path}`, this.url)
    const payload = body === undefined ? "" : JSON.stringify(body)
    return new Promise<T>((resolve, reject) => {
      const request = http.request(
        target,
        {
          method,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(payload),
          },
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8")
            let parsed: unknown
            try {
              parsed = text ? JSON.parse(text) : undefined
            } catch {
              parsed = text
            }
            const status = response.statusCode ?? 0
            if (status >= 400) {
              const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : {}
              const message = typeof error.message === "string" ? error.message : `HTTP ${status}`
              reject(new EmulatorControlError(message, status))
              return
            }
            resolve(parsed as T)
          })
          response.on("error", reject)
        }
      )
      request.on("error", reject)
      request.end(payload)
    })
  }

  async health(): Promise<{ ok: boolean; url: string }> {
    return this.call("GET", "/health")
  }

  async reset(options: { webhookEndpoints?: boolean } = {}): Promise<void> {
    await this.call("POST", "/reset", options)
  }

  state(): Promise<EmulatorState> {
    return this.call("GET", "/state")
  }

  paymentIntents(): Promise<Stripe.PaymentIntent[]> {
    return this.call("GET", "/payment_intents")
  }

  paymentIntent(id: string): Promise<Stripe.PaymentIntent> {
    return this.call("GET", `/payment_intents/${encodeURIComponent(id)}`)
  }

  charges(): Promise<Stripe.Charge[]> {
    return this.call("GET", "/charges")
  }

  refunds(): Promise<Stripe.Refund[]> {
    return this.call("GET", "/refunds")
  }

  customers(): Promise<(Stripe.Customer | Stripe.DeletedCustomer)[]> {
    return this.call("GET", "/customers")
  }

  events(type?: string): Promise<Stripe.Event[]> {
    return this.call("GET", `/events${type ? `?type=${encodeURIComponent(type)}` : ""}`)
  }

  confirmPaymentIntent(
    id: string,
    params: ConfirmAsShopperParams = {}
  ): Promise<Stripe.PaymentIntent> {
    return this.call("POST", `/payment_intents/${encodeURIComponent(id)}/confirm`, params)
  }

  completeAction(id: string): Promise<Stripe.PaymentIntent | Stripe.SetupIntent> {
    const kind = id.startsWith("seti_") ? "setup_intents" : "payment_intents"
    return this.call("POST", `/${kind}/${encodeURIComponent(id)}/complete_action`)
  }

  failAction(id: string): Promise<Stripe.PaymentIntent | Stripe.SetupIntent> {
    const kind = id.startsWith("seti_") ? "setup_intents" : "payment_intents"
    return this.call("POST", `/${kind}/${encodeURIComponent(id)}/fail_action`)
  }

  settleProcessing(id: string, options: { succeed?: boolean } = {}): Promise<Stripe.PaymentIntent> {
    return this.call("POST", `/payment_intents/${encodeURIComponent(id)}/settle`, options)
  }

  createDispute(
    chargeOrIntentId: string,
    options: { reason?: string; amount?: number } = {}
  ): Promise<Stripe.Dispute> {
    return this.call("POST", "/disputes", { id: chargeOrIntentId, ...options })
  }

  refundFromDashboard(intentId: string, amount?: number): Promise<Stripe.Refund> {
    return this.call(
      "POST",
      `/payment_intents/${encodeURIComponent(intentId)}/refund`,
      amount === undefined ? {} : { amount }
    )
  }

  async failNextRefund(mode: RefundFailureMode = "error"): Promise<void> {
    await this.call("POST", "/refunds/fail_next", { mode })
  }

  counters(): Promise<Record<string, number>> {
    return this.call("GET", "/counters")
  }

  async resetCounters(): Promise<void> {
    await this.call("POST", "/counters/reset")
  }

  requestLog(): Promise<RequestLogEntry[]> {
    return this.call("GET", "/requests")
  }

  async clearRequestLog(): Promise<void> {
    await this.call("POST", "/requests/clear")
  }
}
