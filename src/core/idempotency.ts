import { createHash, randomUUID } from "crypto"

/**
 * Idempotency keys name one operation, never its content.
 *
 * Stripe keeps the first answer to a key for 24 hours, failures included, and replays it for
 * every later request with that key. A key derived from the parameters therefore replays stale
 * answers to new operations that happen to look alike: a cart total going A -> B -> C -> B got
 * the first "update to B" back and left the intent at C; a refund retried after the merchant
 * topped up the balance got `balance_insufficient` again; a session made again for a cart got
 * the earlier, since refunded, intent.
 *
 * So every money-moving call of the processor draws one operation id, and all its Stripe writes
 * carry keys built from it. The SDK's network retries within the call resend the same key and
 * get Stripe's first answer instead of doing the work twice; the next call is a new operation
 * with a new key, even with equal parameters. Where running an operation twice would move money
 * twice (a refund whose first answer was lost while Stripe did the work), the processor reads
 * Stripe before it writes and adopts the earlier attempt instead (see `refund-attempts.ts`).
 *
 * | operation            | key                                            | a retry reuses it because            | a new operation cannot because         |
 * | -------------------- | ---------------------------------------------- | ------------------------------------ | -------------------------------------- |
 * | create intent        | pi-create:{processor}:{resource}:{operation}   | SDK retries resend the call's key     | each call draws a new operation id     |
 * | update intent        | pi-update:{intent}:{operation}                 | SDK retries resend the call's key     | each call draws a new operation id     |
 * | capture intent       | pi-capture:{intent}:{operation}                | SDK retries resend the call's key     | each call draws a new operation id     |
 * | cancel intent        | pi-cancel:{intent}:{operation}                 | SDK retries resend the call's key     | each call draws a new operation id     |
 * | refund               | refund:{intent}:{operation}                    | SDK retries resend the call's key     | each call draws a new operation id     |
 * | create customer      | customer-create:{medusa customer}:{replaces}:{parameters} | one Stripe customer per Medusa customer | a stale customer replaced is named in the key |
 *
 * An intent made by a call whose Medusa transaction then rolled back holds no money: its
 * `client_secret` never reached a storefront, so nobody can confirm it.
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

/** A fresh id for one operation of the processor. */
export function newOperationId(): string {
  return randomUUID()
}

export const idempotencyKeys = {
  createIntent: (processorId: string, resourceId: string, operation: string): string =>
    bounded(`${PREFIX}:pi-create:${processorId}:${resourceId}:${operation}`),
  updateIntent: (intentId: string, operation: string): string =>
    bounded(`${PREFIX}:pi-update:${intentId}:${operation}`),
  captureIntent: (intentId: string, operation: string): string =>
    bounded(`${PREFIX}:pi-capture:${intentId}:${operation}`),
  cancelIntent: (intentId: string, operation: string): string =>
    bounded(`${PREFIX}:pi-cancel:${intentId}:${operation}`),
  refund: (intentId: string, operation: string): string =>
    bounded(`${PREFIX}:refund:${intentId}:${operation}`),
  /**
   * One Stripe customer per Medusa customer. `replaces` names a recorded customer that no
   * longer exists under the current key, so its successor is a new customer; the parameters
   * are part of the key so a create that failed (a bad email) does not replay its failure
   * once the email is fixed.
   */
  createCustomer: (medusaCustomerId: string, params: unknown, replaces?: string): string =>
    bounded(
      [PREFIX, "customer-create", medusaCustomerId, replaces ?? "first", digest(params)].join(":")
    ),
}
