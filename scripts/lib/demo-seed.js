/**
 * Seed data of the demo store, in the format of `medusa seed -f`. Stripe providers the plugin
 * does not register are dropped at seed time (see `optional_payment_providers` in
 * scripts/lib/medusa-backend.js).
 */

const ADMIN_EMAIL = "admin@example.com"
const ADMIN_PASSWORD = "supersecret"

const REGIONS = [
  {
    id: "eu",
    name: "Europe",
    currency_code: "eur",
    countries: ["de", "nl", "be", "at"],
    shipping: 800,
    local: [
      "stripe-ideal",
      "stripe-bancontact",
      "stripe-przelewy24",
      "stripe-sepa-debit",
      "stripe-klarna",
    ],
  },
  {
    id: "us",
    name: "United States",
    currency_code: "usd",
    countries: ["us"],
    shipping: 800,
    local: ["stripe-klarna"],
  },
  { id: "jp", name: "Japan", currency_code: "jpy", countries: ["jp"], shipping: 500, local: [] },
  // BLIK charges PLN only.
  {
    id: "pl",
    name: "Poland",
    currency_code: "pln",
    countries: ["pl"],
    shipping: 1500,
    local: ["stripe-blik", "stripe-przelewy24"],
  },
]

const PRODUCTS = [
  {
    title: "Medusa T-Shirt",
    handle: "t-shirt",
    description: "A soft cotton tee.",
    sizes: ["S", "M", "L"],
    prices: { eur: 2500, usd: 3000, jpy: 4000, pln: 10900 },
  },
  {
    title: "Medusa Coffee Mug",
    handle: "coffee-mug",
    description: "Holds exactly one coffee.",
    sizes: ["One size"],
    prices: { eur: 1200, usd: 1400, jpy: 1800, pln: 5200 },
  },
]

function buildDemoSeed() {
  const optional = new Set(["stripe"])
  const regions = REGIONS.map((r) => {
    const providers = ["stripe", ...r.local, "manual"]
    r.local.forEach((id) => optional.add(id))
    return {
      id: r.id,
      name: r.name,
      currency_code: r.currency_code,
      tax_rate: 0,
      payment_providers: providers,
      fulfillment_providers: ["manual"],
      countries: r.countries,
    }
  })
  return {
    store: { name: "Medusa Stripe Demo", currencies: REGIONS.map((r) => r.currency_code) },
    users: [{ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }],
    regions,
    shipping_options: REGIONS.map((r) => ({
      name: "Standard shipping",
      region_id: r.id,
      provider_id: "manual",
      data: { id: "manual-fulfillment" },
      price_type: "flat_rate",
      amount: r.shipping,
    })),
    products: PRODUCTS.map((p) => ({
      title: p.title,
      handle: p.handle,
      description: p.description,
      options: [{ title: "Size" }],
      variants: p.sizes.map((size) => ({
        title: size,
        sku: `${p.handle}-${size}`.toUpperCase().replace(/\s+/g, "-"),
        inventory_quantity: 1000,
        manage_inventory: true,
        prices: Object.entries(p.prices).map(([currency_code, amount]) => ({
          currency_code,
          amount,
        })),
        options: [{ value: size }],
      })),
    })),
    optional_payment_providers: [...optional],
  }
}

module.exports = { ADMIN_EMAIL, ADMIN_PASSWORD, buildDemoSeed }
