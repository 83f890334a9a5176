import { createHash } from "crypto"

/**
 * Idempotency keys are derived from what the request does, never random, so that a retry of
 * the same Medusa operation (by the SDK, by Medusa, or by a shopper double-clicking) replays
 * Stripe's first answer instead of doing the work twice.
 */

/** A short, stable digest of request parameters (key order does not matter). */
export function digest(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex").slice(0, 20)
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(stableStringify).join(",")}]`
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableStringify(entry)}`).join(",")}}`
  }
  return JSON.stringify(value)
}

const PREFIX = "medusa"
const STRIPE_KEY_LIMIT = 255

/** Keeps a key readable when it fits Stripe's limit, and unique when it does not. */
function bounded(key: string): string {
  return key.length <= STRIPE_KEY_LIMIT ? key : `${PREFIX}:${digest(key)}:${key.slice(0, 64)}`
}

export const idempotencyKeys = {
  /**
   * One intent per resource and parameters. `after` names an intent this one replaces, so a
   * new intent can be made once the earlier one (same parameters) was canceled.
   */
  createIntent: (resourceId: string, params: unknown, after?: string): string =>
    bounded([PREFIX, "pi-create", resourceId, digest(params), after].filter(Boolean).join(":")),
  updateIntent: (intentId: string, params: unknown): string =>
    bounded(`${PREFIX}:pi-update:${intentId}:${digest(params)}`),
  captureIntent: (intentId: string, amount: number): string =>
    bounded(`${PREFIX}:pi-capture:${intentId}:${amount}`),
  cancelIntent: (intentId: string): string => bounded(`${PREFIX}:pi-cancel:${intentId}`),
  /** `refundedBefore` tells two equal partial refunds apart while keeping retries identical. */
  refund: (intentId: string, amount: number, refundedBefore: number): string =>
    bounded(`${PREFIX}:refund:${intentId}:${refundedBefore}:${amount}`),
  createCustomer: (medusaCustomerId: string): string =>
    bounded(`${PREFIX}:customer-create:${medusaCustomerId}`),
}
