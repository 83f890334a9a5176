import type { PaymentProcessorError } from "@medusajs/medusa"
import { AmountError } from "./amounts"

/** An error the plugin raises itself, with a stable code. */
export class StripePluginError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly detail?: string
  ) {
    super(message)
    this.name = "StripePluginError"
  }
}

/** The fields of a `Stripe.errors.StripeError` the plugin reads, checked structurally. */
interface StripeErrorLike {
  type: string
  message: string
  code?: string
  decline_code?: string
  param?: string
  requestId?: string
  statusCode?: number
}

export function isStripeError(error: unknown): error is StripeErrorLike {
  if (!(error instanceof Error)) return false
  const type: unknown = (error as Error & { type?: unknown }).type
  return typeof type === "string" && type.startsWith("Stripe")
}

const STRIPE_TYPE_CODES: Readonly<Record<string, string>> = {
  StripeCardError: "card_error",
  StripeInvalidRequestError: "invalid_request_error",
  StripeAPIError: "api_error",
  StripeAuthenticationError: "authentication_error",
  StripePermissionError: "permission_error",
  StripeRateLimitError: "rate_limit_error",
  StripeConnectionError: "api_connection_error",
  StripeIdempotencyError: "idempotency_error",
  StripeSignatureVerificationError: "signature_verification_error",
}

function describe(parts: Array<string | undefined>): string {
  return parts.filter((part): part is string => Boolean(part)).join("; ")
}

/**
 * Turns anything thrown during a processor operation into a Medusa `PaymentProcessorError`.
 *
 * `error`, `code` and `detail` are always non-empty: Medusa's `isPaymentProcessorError` checks
 * all three, and treats a failed cancel or refund without them as a success.
 */
export function toProcessorError(operation: string, error: unknown): PaymentProcessorError {
  if (isStripeError(error)) {
    const code = error.decline_code ?? error.code ?? STRIPE_TYPE_CODES[error.type] ?? "stripe_error"
    return {
      error: `Stripe could not ${operation}: ${error.message}`,
      code,
      detail: describe([
        error.message,
        error.code && `code: ${error.code}`,
        error.decline_code && `decline_code: ${error.decline_code}`,
        error.param && `param: ${error.param}`,
        error.statusCode !== undefined ? `status: ${error.statusCode}` : undefined,
        error.requestId && `request: ${error.requestId}`,
      ]),
    }
  }
  if (error instanceof AmountError || error instanceof StripePluginError) {
    return {
      error: `Could not ${operation}: ${error.message}`,
      code: error.code,
      detail: (error instanceof StripePluginError && error.detail) || error.message,
    }
  }
  const message = messageOf(error)
  return {
    error: `Could not ${operation}: ${message || "unknown error"}`,
    code: "unknown_error",
    detail: message || "The error carried no message",
  }
}

/**
 * For the few processor methods that must throw rather than return a `PaymentProcessorError`
 * (`getPaymentStatus`): Medusa's error handler keeps the message of an error typed
 * `unexpected_state`, where a raw Stripe error would reach the shopper as "An unknown error
 * occurred".
 */
export class StripeOperationError extends Error {
  readonly type = "unexpected_state"
  readonly code: string

  constructor(operation: string, error: unknown) {
    const { error: message, code, detail } = toProcessorError(operation, error)
    super(detail && !message.includes(detail) ? `${message} (${detail})` : message)
    this.name = "StripeOperationError"
    this.code = code ?? "unknown_error"
  }
}

/** The message of anything thrown, for logs and answers. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
