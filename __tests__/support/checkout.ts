import { ApiClient } from "./http"
import { PRODUCT_HANDLE } from "./seed-data"
import type { Cart, CompleteCartResponse, Product, Region, ShippingOption } from "./store-types"

export interface CheckoutOptions {
  /** Region by name ("Europe"), by id, or by currency ("eur"); default the first region. */
  region?: string
  /** Default: the seeded product's first variant. */
  variantId?: string
  quantity?: number
  email?: string
  /** Shipping country (ISO 2); default the region's first country. */
  country?: string
  /** Payment provider to select; `null` leaves the sessions unselected. Default `manual`. */
  provider?: string | null
  /** Skip `POST /store/carts/:id/payment-sessions` (and selection). */
  skipPaymentSessions?: boolean
}

export async function listRegions(store: ApiClient): Promise<Region[]> {
  const { regions } = await store.get<{ regions: Region[] }>("/store/regions")
  return regions
}

export async function findRegion(store: ApiClient, key?: string): Promise<Region> {
  const regions = await listRegions(store)
  const region = key
    ? regions.find((r) => r.id === key || r.name === key || r.currency_code === key.toLowerCase())
    : regions[0]
  if (!region) {
    throw new Error(
      `No region ${JSON.stringify(key)} among ${regions.map((r) => r.name).join(", ")}`
    )
  }
  return region
}

export async function findVariantId(store: ApiClient, handle = PRODUCT_HANDLE): Promise<string> {
  const [first] = await findVariantIds(store, handle)
  return first
}

/** Every variant of the product, in the order Medusa lists them (at least one). */
export async function findVariantIds(
  store: ApiClient,
  handle = PRODUCT_HANDLE
): Promise<[string, ...string[]]> {
  const { products } = await store.get<{ products: Product[] }>(
    `/store/products?handle=${encodeURIComponent(handle)}`
  )
  const [first, ...rest] = (products[0]?.variants ?? []).map((variant) => variant.id)
  if (!first) {
    throw new Error(`No product with handle ${handle} (or it has no variant)`)
  }
  return [first, ...rest]
}

/** The PaymentIntent id a Stripe payment session holds. */
export function intentIdOf(session: { data: Record<string, unknown> } | null | undefined): string {
  const id = session?.data.id
  if (typeof id !== "string") throw new Error("The payment session holds no PaymentIntent")
  return id
}

export async function getCart(store: ApiClient, cartId: string): Promise<Cart> {
  const { cart } = await store.get<{ cart: Cart }>(`/store/carts/${cartId}`)
  return cart
}

/** `POST /store/carts/:id/payment-session` (select a provider). */
export async function selectPaymentProvider(
  store: ApiClient,
  cartId: string,
  providerId: string
): Promise<Cart> {
  const { cart } = await store.post<{ cart: Cart }>(`/store/carts/${cartId}/payment-session`, {
    provider_id: providerId,
  })
  return cart
}

/** `POST /store/carts/:id/complete`, which may answer with the cart when payment is pending. */
export async function completeCart(
  store: ApiClient,
  cartId: string
): Promise<CompleteCartResponse> {
  return store.post<CompleteCartResponse>(`/store/carts/${cartId}/complete`)
}

/**
 * A cart in a region with the variant, an email, a shipping address and a shipping method,
 * its payment sessions created and `provider` selected. Line items go in before the shipping
 * method, as Medusa v1 drops shipping methods whenever line items change.
 */
export async function checkout(store: ApiClient, options: CheckoutOptions = {}): Promise<Cart> {
  const region = await findRegion(store, options.region)
  const variantId = options.variantId ?? (await findVariantId(store))
  const country = options.country ?? region.countries[0]?.iso_2
  if (!country) {
    throw new Error(`Region ${region.name} has no country`)
  }

  const created = await store.post<{ cart: Cart }>("/store/carts", { region_id: region.id })
  const cartId = created.cart.id

  await store.post(`/store/carts/${cartId}/line-items`, {
    variant_id: variantId,
    quantity: options.quantity ?? 1,
  })
  await store.post(`/store/carts/${cartId}`, {
    email: options.email ?? "shopper@example.com",
    shipping_address: {
      first_name: "Erika",
      last_name: "Mustermann",
      address_1: "Hauptstrasse 1",
      city: "Berlin",
      postal_code: "10115",
      country_code: country,
      phone: "+491701234567",
    },
  })

  const { shipping_options } = await store.get<{ shipping_options: ShippingOption[] }>(
    `/store/shipping-options/${cartId}`
  )
  if (shipping_options.length === 0) {
    throw new Error(`No shipping option for cart ${cartId} in ${region.name}`)
  }
  const withShipping = await store.post<{ cart: Cart }>(`/store/carts/${cartId}/shipping-methods`, {
    option_id: shipping_options[0].id,
  })
  if (options.skipPaymentSessions) {
    return withShipping.cart
  }

  const withSessions = await store.post<{ cart: Cart }>(`/store/carts/${cartId}/payment-sessions`)
  const provider = options.provider === undefined ? "manual" : options.provider
  if (provider === null) {
    return withSessions.cart
  }
  return selectPaymentProvider(store, cartId, provider)
}
