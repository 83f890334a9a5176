/** Seed data in the format of `medusa seed -f`. */

export const ADMIN_EMAIL = "admin@example.com"
export const ADMIN_PASSWORD = "supersecret"

export const PRODUCT_HANDLE = "e2e-tee"
export const VARIANT_SKU = "E2E-TEE-M"

/** Local payment methods offered per region, when the plugin registers them. */
export const LOCAL_PAYMENT_PROVIDERS: Record<string, string[]> = {
  eur: [
    "stripe-ideal",
    "stripe-bancontact",
    "stripe-przelewy24",
    "stripe-sepa-debit",
    "stripe-klarna",
  ],
  // BLIK charges PLN only, so it is offered in the Poland region and nowhere else.
  pln: ["stripe-blik", "stripe-przelewy24"],
  usd: ["stripe-klarna"],
  jpy: [],
}

export interface SeedRegion {
  id: string
  name: string
  currency_code: string
  tax_rate: number
  payment_providers: string[]
  fulfillment_providers: string[]
  countries: string[]
}

export interface SeedShippingOption {
  name: string
  region_id: string
  provider_id: string
  data: Record<string, unknown>
  price_type: "flat_rate" | "calculated"
  amount: number
  is_return?: boolean
}

export interface SeedVariant {
  title: string
  sku: string
  inventory_quantity: number
  manage_inventory: boolean
  prices: { currency_code: string; amount: number }[]
  options: { value: string }[]
}

export interface SeedProduct {
  title: string
  handle: string
  description?: string
  options: { title: string }[]
  variants: SeedVariant[]
}

export interface SeedData {
  store?: { name?: string; currencies?: string[] }
  users: { email: string; password: string }[]
  regions: SeedRegion[]
  shipping_options: SeedShippingOption[]
  products: SeedProduct[]
  /**
   * Region payment providers that are dropped at seed time when no installed plugin registers
   * them (read by scripts/lib/medusa-backend.js; `medusa seed` itself ignores the key).
   */
  optional_payment_providers?: string[]
}

export interface RegionSpec {
  key: string
  name: string
  currency: string
  countries: string[]
  shippingAmount: number
  price: number
}

export const REGIONS: RegionSpec[] = [
  {
    key: "eu",
    name: "Europe",
    currency: "eur",
    countries: ["de", "nl", "be", "at"],
    shippingAmount: 800,
    price: 2500,
  },
  {
    key: "us",
    name: "United States",
    currency: "usd",
    countries: ["us"],
    shippingAmount: 800,
    price: 3000,
  },
  {
    key: "jp",
    name: "Japan",
    currency: "jpy",
    countries: ["jp"],
    shippingAmount: 500,
    price: 4000,
  },
  {
    key: "pl",
    name: "Poland",
    currency: "pln",
    countries: ["pl"],
    shippingAmount: 1500,
    price: 10900,
  },
]

export interface SeedOptions {
  /**
   * Payment providers known to be registered. Without it, every Stripe provider is listed and
   * marked optional, so that the seed works whichever of them the plugin registers.
   */
  providers?: string[]
  inventory?: number
  /**
   * Variants of the product (default 1, size M). Load tests spread their checkouts over
   * several, so that concurrent completions do not all wait for one stock row.
   */
  variants?: number
}

/**
 * Europe (eur), United States (usd), Japan (jpy), Poland (pln), one product, one flat-rate
 * option each.
 */
export function buildSeedData(options: SeedOptions = {}): SeedData {
  const inventory = options.inventory ?? 1000
  const sizes = ["M", ...Array.from({ length: (options.variants ?? 1) - 1 }, (_, i) => `V${i + 2}`)]
  const known = options.providers ? new Set(options.providers) : undefined
  const keep = (id: string) => !known || known.has(id)

  const stripeProviders = new Set<string>(["stripe"])
  const regions: SeedRegion[] = REGIONS.map((spec) => {
    const stripe = ["stripe", ...(LOCAL_PAYMENT_PROVIDERS[spec.currency] ?? [])]
    stripe.forEach((id) => stripeProviders.add(id))
    return {
      id: spec.key,
      name: spec.name,
      currency_code: spec.currency,
      tax_rate: 0,
      payment_providers: [...stripe, "manual"].filter(keep),
      fulfillment_providers: ["manual"],
      countries: spec.countries,
    }
  })

  return {
    store: { name: "Stripe E2E Store", currencies: REGIONS.map((r) => r.currency) },
    users: [{ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }],
    regions,
    shipping_options: REGIONS.map((spec) => ({
      name: `Standard shipping (${spec.name})`,
      region_id: spec.key,
      provider_id: "manual",
      data: { id: "manual-fulfillment" },
      price_type: "flat_rate",
      amount: spec.shippingAmount,
    })),
    products: [
      {
        title: "E2E Tee",
        handle: PRODUCT_HANDLE,
        description: "A plain tee for checkout tests.",
        options: [{ title: "Size" }],
        variants: sizes.map((size) => ({
          title: size,
          sku: size === "M" ? VARIANT_SKU : `${VARIANT_SKU}-${size}`,
          inventory_quantity: inventory,
          manage_inventory: true,
          prices: REGIONS.map((spec) => ({ currency_code: spec.currency, amount: spec.price })),
          options: [{ value: size }],
        })),
      },
    ],
    optional_payment_providers: known ? [] : [...stripeProviders],
  }
}
