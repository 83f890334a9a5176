import Stripe from "stripe"
import { isPaymentProcessorError } from "@medusajs/medusa/dist/interfaces/payment-processor"
import { AmountError } from "../../src/core/amounts"
import { StripePluginError, toProcessorError } from "../../src/core/errors"

type RawError = ConstructorParameters<typeof Stripe.errors.StripeError>[0]

const raw = (overrides: Partial<NonNullable<RawError>> = {}): RawError => ({
  type: "invalid_request_error",
  message: "Something went wrong",
  requestId: "req_123",
  statusCode: 400,
  ...overrides,
})

describe("toProcessorError", () => {
  const stripeErrors: Array<[string, Error, string]> = [
    [
      "card error with a decline code",
      new Stripe.errors.StripeCardError(
        raw({ code: "card_declined", decline_code: "insufficient_funds", statusCode: 402 })
      ),
      "insufficient_funds",
    ],
    [
      "card error without a decline code",
      new Stripe.errors.StripeCardError(raw({ code: "expired_card" })),
      "expired_card",
    ],
    [
      "invalid request",
      new Stripe.errors.StripeInvalidRequestError(raw({ code: "payment_intent_unexpected_state" })),
      "payment_intent_unexpected_state",
    ],
    ["API error", new Stripe.errors.StripeAPIError(raw({ statusCode: 500 })), "api_error"],
    [
      "authentication error",
      new Stripe.errors.StripeAuthenticationError(raw({ statusCode: 401 })),
      "authentication_error",
    ],
    [
      "permission error",
      new Stripe.errors.StripePermissionError(raw({ statusCode: 403 })),
      "permission_error",
    ],
    [
      "rate limit",
      new Stripe.errors.StripeRateLimitError(raw({ statusCode: 429 })),
      "rate_limit_error",
    ],
    [
      "connection error",
      new Stripe.errors.StripeConnectionError(raw({ statusCode: undefined })),
      "api_connection_error",
    ],
    ["idempotency error", new Stripe.errors.StripeIdempotencyError(raw()), "idempotency_error"],
  ]

  it.each(stripeErrors)(
    "turns a Stripe %s into a complete PaymentProcessorError",
    (_name, error, code) => {
      const result = toProcessorError("capture the payment", error)
      expect(result.code).toBe(code)
      expect(result.error).toBe("Stripe could not capture the payment: Something went wrong")
      expect(result.detail).toContain("request: req_123")
      expect(isPaymentProcessorError(result)).toBeTruthy()
    }
  )

  it("keeps the amount error's code and message", () => {
    const result = toProcessorError(
      "create the payment",
      new AmountError("amount_too_small", "Too small")
    )
    expect(result).toEqual({
      error: "Could not create the payment: Too small",
      code: "amount_too_small",
      detail: "Too small",
    })
  })

  it("uses the plugin error's detail when it has one", () => {
    const result = toProcessorError(
      "authorize the payment",
      new StripePluginError("amount_mismatch", "Amounts differ", "Update the session")
    )
    expect(result.detail).toBe("Update the session")
    expect(isPaymentProcessorError(result)).toBeTruthy()
  })

  it.each([
    ["an Error without a message", new Error("")],
    ["a string", "boom"],
    ["undefined", undefined],
    ["an object", { weird: true }],
  ])("fills error, code and detail for %s", (_name, thrown) => {
    const result = toProcessorError("refund the payment", thrown)
    expect(result.code).toBe("unknown_error")
    expect(result.error).toMatch(/^Could not refund the payment: /)
    expect(isPaymentProcessorError(result)).toBeTruthy()
  })
})
