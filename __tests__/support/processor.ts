import type { Customer, PaymentProcessorContext, PaymentProcessorError } from "@medusajs/medusa"
import type { StripeEmulator } from "../../src/emulator"
import type { StripeBase } from "../../src/core/stripe-base"

export const TEST_API_KEY = "sk_test_processor_suite"

type ProcessorConstructor<T extends StripeBase> = new (
  container: Record<string, unknown>,
  options?: Record<string, unknown>
) => T

export interface FakeCart {
  total: number
  currency: string
}

/**
 * Builds a processor the way Medusa does (container + plugin options), talking to the emulator.
 * `carts` stands in for Medusa's cart service; `services` adds to the container (e.g. a
 * `manager` answering the processor's queries).
 */
export function buildProcessor<T extends StripeBase>(
  Processor: ProcessorConstructor<T>,
  emulator: StripeEmulator,
  options: Record<string, unknown> = {},
  carts: Map<string, FakeCart> = new Map(),
  services: Record<string, unknown> = {}
): T {
  const { host, port, protocol } = emulator.stripeConfig()
  const container: Record<string, unknown> = {
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    cartService: {
      retrieveWithTotals: async (cartId: string) => {
        const cart = carts.get(cartId)
        if (!cart) throw new Error(`Cart ${cartId} not found`)
        return { id: cartId, total: cart.total, region: { currency_code: cart.currency } }
      },
    },
    ...services,
  }
  return new Processor(container, {
    api_key: TEST_API_KEY,
    host,
    port,
    protocol,
    max_network_retries: 2,
    ...options,
  })
}

let cartSequence = 0

export function newCartId(): string {
  cartSequence += 1
  return `cart_${Date.now().toString(36)}${cartSequence.toString().padStart(4, "0")}`
}

export function buildCustomer(overrides: Partial<Customer> = {}): Customer {
  return {
    id: `cus_medusa_${++cartSequence}`,
    email: "shopper@example.com",
    first_name: "Ada",
    last_name: "Lovelace",
    metadata: {},
    ...overrides,
  } as Customer
}

export function buildContext(
  overrides: Partial<PaymentProcessorContext> = {}
): PaymentProcessorContext {
  return {
    amount: 2500,
    currency_code: "eur",
    resource_id: newCartId(),
    email: "guest@example.com",
    context: {},
    paymentSessionData: {},
    ...overrides,
  }
}

/** Narrows a processor result, failing the test with the processor's own error otherwise. */
export function unwrap<T>(result: T | PaymentProcessorError): Exclude<T, PaymentProcessorError> {
  if (
    result &&
    typeof result === "object" &&
    "error" in result &&
    typeof result.error === "string"
  ) {
    throw new Error(
      `Expected success, got ${result.code}: ${result.error} (${String(result.detail)})`
    )
  }
  return result as Exclude<T, PaymentProcessorError>
}

/** Narrows a processor result to its error, failing the test on success. */
export function failure(result: unknown): Required<PaymentProcessorError> {
  if (result && typeof result === "object" && "error" in result) {
    return result as Required<PaymentProcessorError>
  }
  throw new Error(`Expected an error, got ${JSON.stringify(result)}`)
}
