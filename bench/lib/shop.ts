import {
  ApiClient,
  HttpError,
  findRegion,
  findVariantIds,
  type AdminClient,
  type Cart,
  type CompleteCartResponse,
  type ShippingOption,
  type StripeEmulator,
} from "../../__tests__/support"
import { msSince } from "./stats"

/** Storefront requests of one checkout, in order; `complete` comes after the shopper confirms. */
export const STOREFRONT_STEPS = [
  "create_cart",
  "add_item",
  "set_address",
  "list_shipping",
  "add_shipping",
  "create_sessions",
  "select_provider",
  "update_billing",
  "update_quantity",
  "update_address",
  "complete",
] as const

export const ADMIN_STEPS = ["capture", "refund", "cancel"] as const

export type StorefrontStep = (typeof STOREFRONT_STEPS)[number]
export type AdminStep = (typeof ADMIN_STEPS)[number]
export type StepName = StorefrontStep | AdminStep

export const STEP_REQUESTS: Record<StepName, string> = {
  create_cart: "POST /store/carts",
  add_item: "POST /store/carts/:id/line-items",
  set_address: "POST /store/carts/:id (email, shipping address)",
  list_shipping: "GET /store/shipping-options/:cart_id",
  add_shipping: "POST /store/carts/:id/shipping-methods",
  create_sessions: "POST /store/carts/:id/payment-sessions",
  select_provider: "POST /store/carts/:id/payment-session",
  update_billing: "POST /store/carts/:id (billing address; amount unchanged)",
  update_quantity: "POST /store/carts/:id/line-items/:line_id (quantity 1 -> 2; amount changes)",
  update_address: "POST /store/carts/:id (shipping address line 2; amount unchanged)",
  complete: "POST /store/carts/:id/complete",
  capture: "POST /admin/orders/:id/capture",
  refund: "POST /admin/orders/:id/refund (500 of the total)",
  cancel: "POST /admin/orders/:id/cancel",
}

/** Called around every timed request (e.g. to count Stripe calls per step). */
export interface StepObserver {
  before?(step: StepName): Promise<void> | void
  after?(step: StepName, ms: number): Promise<void> | void
}

export interface Shop {
  store: ApiClient
  admin: AdminClient
  emulator: StripeEmulator
  /** Payment provider selected at checkout (`stripe` or `manual`). */
  provider: string
  regionId: string
  /** The product's variants; checkouts take them in turn by their index. */
  variantIds: [string, ...string[]]
  country: string
}

export interface CheckoutRun {
  cartId: string
  /** Undefined when the checkout stopped before `complete`. */
  orderId?: string
  orderTotal?: number
  /** The PaymentIntent of the selected Stripe session. */
  intentId?: string
  /** Milliseconds per storefront request. */
  steps: Partial<Record<StorefrontStep, number>>
  /** Sum of the storefront requests (the shopper's confirmation at Stripe is not included). */
  totalMs: number
}

export interface CheckoutOptions {
  email: string
  observer?: StepObserver
  /** Picks the variant bought, `variantIds[variant % length]` (default 0). */
  variant?: number
  /** Stop after the shopper confirmed (the tab-closed case): no `complete`. */
  skipComplete?: boolean
}

export async function openShop(
  store: ApiClient,
  admin: AdminClient,
  emulator: StripeEmulator,
  provider: string,
  currency = "eur"
): Promise<Shop> {
  const region = await findRegion(store, currency)
  const variantIds = await findVariantIds(store)
  const country = region.countries[0]?.iso_2
  if (!country) {
    throw new Error(`Region ${region.name} has no country`)
  }
  return { store, admin, emulator, provider, regionId: region.id, variantIds, country }
}

const ADDRESS = {
  first_name: "Erika",
  last_name: "Mustermann",
  address_1: "Hauptstrasse 1",
  city: "Berlin",
  postal_code: "10115",
  phone: "+491701234567",
}

async function timed<T>(
  name: StepName,
  observer: StepObserver | undefined,
  record: (ms: number) => void,
  fn: () => Promise<T>
): Promise<T> {
  await observer?.before?.(name)
  const started = process.hrtime.bigint()
  let result: T
  try {
    result = await fn()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    throw new Error(`${name} (after ${Math.round(msSince(started))} ms): ${message}`)
  }
  const ms = msSince(started)
  record(ms)
  await observer?.after?.(name, ms)
  return result
}

function intentIdOf(cart: Cart): string | undefined {
  const id = cart.payment_session?.data?.id
  return typeof id === "string" && id.startsWith("pi_") ? id : undefined
}

/**
 * One storefront checkout: cart, item, address, shipping, payment sessions, provider, three
 * cart changes (the second changes the amount), the shopper's confirmation at Stripe (with
 * the emulator, outside the timing) and the completion.
 */
export async function checkoutOnce(shop: Shop, options: CheckoutOptions): Promise<CheckoutRun> {
  // Like a browser, the shopper keeps the session cookie Medusa sets on the first answer.
  const store = new ApiClient(shop.store.baseUrl, shop.store.headers)
  const steps: Partial<Record<StorefrontStep, number>> = {}
  const step = <T>(name: StorefrontStep, fn: () => Promise<T>) =>
    timed(name, options.observer, (ms) => (steps[name] = ms), fn)

  const created = await step("create_cart", async () => {
    const res = await store.request<{ cart: Cart }>("POST", "/store/carts", {
      region_id: shop.regionId,
    })
    if (!res.ok) throw new HttpError("POST", "/store/carts", res.status, res.body)
    const cookie = res.headers.get("set-cookie")?.split(";")[0]
    if (cookie) store.headers.cookie = cookie
    return res.body
  })
  const cartId = created.cart.id
  const withItem = await step("add_item", () =>
    store.post<{ cart: Cart }>(`/store/carts/${cartId}/line-items`, {
      variant_id: shop.variantIds[(options.variant ?? 0) % shop.variantIds.length],
      quantity: 1,
    })
  )
  const lineId = withItem.cart.items[0]?.id
  if (!lineId) {
    throw new Error(`Cart ${cartId} has no line item`)
  }
  const address = { ...ADDRESS, country_code: shop.country }
  await step("set_address", () =>
    store.post(`/store/carts/${cartId}`, { email: options.email, shipping_address: address })
  )
  const { shipping_options } = await step("list_shipping", () =>
    store.get<{ shipping_options: ShippingOption[] }>(`/store/shipping-options/${cartId}`)
  )
  if (shipping_options.length === 0) {
    throw new Error(`No shipping option for cart ${cartId}`)
  }
  await step("add_shipping", () =>
    store.post(`/store/carts/${cartId}/shipping-methods`, { option_id: shipping_options[0].id })
  )
  await step("create_sessions", () => store.post(`/store/carts/${cartId}/payment-sessions`))
  await step("select_provider", () =>
    store.post<{ cart: Cart }>(`/store/carts/${cartId}/payment-session`, {
      provider_id: shop.provider,
    })
  )
  await step("update_billing", () =>
    store.post(`/store/carts/${cartId}`, { billing_address: address })
  )
  await step("update_quantity", () =>
    store.post(`/store/carts/${cartId}/line-items/${lineId}`, { quantity: 2 })
  )
  const last = await step("update_address", () =>
    store.post<{ cart: Cart }>(`/store/carts/${cartId}`, {
      shipping_address: { ...address, address_2: "2nd floor" },
    })
  )

  const intentId = intentIdOf(last.cart)
  if (shop.provider !== "manual") {
    if (!intentId) {
      throw new Error(`Cart ${cartId} has no PaymentIntent in its selected session`)
    }
    await shop.emulator.confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
  }

  const total = () => Object.values(steps).reduce((acc, ms) => acc + (ms ?? 0), 0)
  if (options.skipComplete) {
    return { cartId, intentId, steps, totalMs: total() }
  }
  const completed = await step("complete", () =>
    store.post<CompleteCartResponse>(`/store/carts/${cartId}/complete`)
  )
  if (completed.type !== "order") {
    throw new Error(
      `Completing cart ${cartId} gave ${completed.type}: ${JSON.stringify(completed.data).slice(0, 500)}`
    )
  }
  return {
    cartId,
    orderId: completed.data.id,
    orderTotal: completed.data.total,
    intentId,
    steps,
    totalMs: total(),
  }
}

/** An admin request on an order, through the observer like the storefront steps. */
export async function adminStep(
  shop: Shop,
  name: AdminStep,
  orderId: string,
  observer?: StepObserver
): Promise<number> {
  let elapsed = 0
  await timed(
    name,
    observer,
    (ms) => (elapsed = ms),
    () => {
      switch (name) {
        case "capture":
          return shop.admin.post(`/admin/orders/${orderId}/capture`)
        case "refund":
          return shop.admin.post(`/admin/orders/${orderId}/refund`, {
            amount: 500,
            reason: "discount",
          })
        case "cancel":
          return shop.admin.post(`/admin/orders/${orderId}/cancel`)
      }
    }
  )
  return elapsed
}

export interface PoolResult<T> {
  results: T[]
  errors: string[]
  elapsedMs: number
}

/** Runs `fn(0..total-1)` with at most `concurrency` at once. */
export async function runPool<T>(
  total: number,
  concurrency: number,
  fn: (index: number) => Promise<T>,
  onProgress?: (done: number) => void
): Promise<PoolResult<T>> {
  const results: T[] = []
  const errors: string[] = []
  let next = 0
  let done = 0
  const started = process.hrtime.bigint()
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++
      try {
        results.push(await fn(index))
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err))
      }
      done += 1
      onProgress?.(done)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  return { results, errors, elapsedMs: msSince(started) }
}
