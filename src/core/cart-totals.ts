import { AsyncLocalStorage } from "async_hooks"

/** A cart's total as Medusa computes it, in Medusa's minor unit. */
export interface CartTotal {
  cartId: string
  total: number
  currency: string
}

/** The part of Medusa's cart service that computes a cart's total. */
export interface CartTotalsReader {
  retrieveWithTotals(
    cartId: string,
    options?: Record<string, unknown>
  ): Promise<{ total?: number | null; region?: { currency_code: string } | null }>
}

const totals = new AsyncLocalStorage<CartTotal>()

/**
 * The processor verifies an authorization against the cart's total while Medusa's completion
 * transaction holds a connection of Medusa's pool. Reading the total there, through the
 * container's cart service, asked that pool for a second connection: twelve completions at once
 * held all ten connections and each waited for an eleventh, and the backend hung. So the
 * completion's callers (the store route's lock and the webhook) read the total before Medusa
 * opens its transaction, holding the cart's lock so it cannot change, and run the completion
 * with it at hand.
 */
export async function readCartTotal(
  carts: CartTotalsReader,
  cartId: string
): Promise<CartTotal | undefined> {
  const cart = await carts.retrieveWithTotals(cartId, { relations: ["region"] })
  const currency = cart.region?.currency_code
  if (!currency || typeof cart.total !== "number") {
    return undefined
  }
  return { cartId, total: cart.total, currency }
}

/** Runs `work` (a cart completion) with the cart's total read beforehand. */
export function withCartTotal<T>(total: CartTotal | undefined, work: () => T): T {
  return total ? totals.run(total, work) : work()
}

/** The total read before the completion running now, if it is for this cart. */
export function cartTotalInScope(cartId: string): CartTotal | undefined {
  const total = totals.getStore()
  return total?.cartId === cartId ? total : undefined
}
