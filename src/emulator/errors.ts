import type Stripe from "stripe"

export type StripeErrorType =
  "api_error" | "card_error" | "idempotency_error" | "invalid_request_error" | "rate_limit_error"

/** The `error` member of a Stripe error response. */
export interface StripeErrorBody {
  type: StripeErrorType
  message: string
  code?: string
  decline_code?: string
  param?: string
  doc_url?: string
  request_log_url?: string
  charge?: string
  payment_intent?: Stripe.PaymentIntent
  payment_method?: Stripe.PaymentMethod
  payment_method_type?: string
  setup_intent?: Stripe.SetupIntent
}

/** A Stripe API error: thrown by handlers, rendered by the server. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {
    super(body.message)
    this.name = "ApiError"
  }
}

/** Thrown by emulator controls (not the Stripe API): unknown ids, impossible actions. */
export class EmulatorControlError extends Error {
  constructor(
    message: string,
    readonly status: number = 400
  ) {
    super(message)
    this.name = "EmulatorControlError"
  }
}

export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, "-")}`
}

export interface InvalidRequestDetails {
  code?: string
  param?: string
  status?: number
  payment_intent?: Stripe.PaymentIntent
  setup_intent?: Stripe.SetupIntent
}

export function invalidRequest(message: string, details: InvalidRequestDetails = {}): ApiError {
  const { status = 400, code, ...rest } = details
  return new ApiError(status, {
    type: "invalid_request_error",
    message,
    ...(code ? { code, doc_url: docUrl(code) } : {}),
    ...rest,
  })
}

/** How Stripe names each object in "No such ..." messages. */
const MISSING_NAMES: Readonly<Record<string, string>> = {
  payment_intent: "payment_intent",
  customer: "customer",
  payment_method: "PaymentMethod",
  charge: "charge",
  refund: "refund",
  setup_intent: "setupintent",
  event: "event",
  webhook_endpoint: "webhook endpoint",
  dispute: "dispute",
  balance_transaction: "balance transaction",
  token: "token",
}

export function resourceMissing(object: string, id: string, param = "id"): ApiError {
  const name = MISSING_NAMES[object] ?? object
  return invalidRequest(`No such ${name}: '${id}'`, {
    status: 404,
    code: "resource_missing",
    param,
  })
}

export function unrecognizedUrl(method: string, path: string, note?: string): ApiError {
  return new ApiError(404, {
    type: "invalid_request_error",
    message:
      `Unrecognized request URL (${method}: ${path}). ` +
      (note ?? "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."),
  })
}

export function apiError(message = "An unknown error occurred"): ApiError {
  return new ApiError(500, { type: "api_error", message })
}
