import { bootE2E, checkout, findRegion, type E2E, type Cart } from "../support"
import { writeChaosConfig } from "./support/backend-config"

jest.setTimeout(300_000)

describe("probe", () => {
  let e2e: E2E
  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, startBackend: false })
    writeChaosConfig(e2e.app)
    await e2e.startBackend({ env: { STRIPE_TIMEOUT: "2000", STRIPE_MAX_NETWORK_RETRIES: "2" } })
  }, 300_000)
  afterAll(async () => {
    console.log(e2e.backend.logs().filter((l) => /error|warn/i.test(l)).slice(-40).join("\n"))
    await e2e?.shutdown()
  })
  const show = (label: string, r: { status: number; body: unknown }) =>
    console.log(label, r.status, JSON.stringify(r.body).slice(0, 400))
  const pi = (c: Cart) => c.payment_session?.data.id as string

  it("explores", async () => {
    const emu = e2e.emulator!
    const b = await checkout(e2e.store, { provider: null, skipPaymentSessions: true })
    show("qty -1 no sessions", await e2e.store.request("POST", `/store/carts/${b.id}/line-items`, { variant_id: b.items[0].variant_id, quantity: -1 }))
    show("qty -1 update", await e2e.store.request("POST", `/store/carts/${b.id}/line-items/${b.items[0].id}`, { quantity: -1 }))
    // no email
    const region = await findRegion(e2e.store, "eur")
    const { cart } = await e2e.store.post<{ cart: Cart }>("/store/carts", { region_id: region.id })
    await e2e.store.post(`/store/carts/${cart.id}/line-items`, { variant_id: b.items[0].variant_id, quantity: 1 })
    await e2e.store.post(`/store/carts/${cart.id}`, { shipping_address: { first_name: "A", last_name: "B", address_1: "x", city: "Berlin", postal_code: "10115", country_code: "de" } })
    const so = await e2e.store.get<{ shipping_options: { id: string }[] }>(`/store/shipping-options/${cart.id}`)
    await e2e.store.post(`/store/carts/${cart.id}/shipping-methods`, { option_id: so.shipping_options[0].id })
    await e2e.store.post(`/store/carts/${cart.id}/payment-sessions`)
    const sel = await e2e.store.request<{ cart: Cart }>("POST", `/store/carts/${cart.id}/payment-session`, { provider_id: "stripe" })
    show("noemail select", sel)
    if (sel.ok) {
      await emu.confirmPaymentIntent(pi(sel.body.cart), { payment_method: "pm_card_visa" })
      show("noemail complete", await e2e.store.request("POST", `/store/carts/${cart.id}/complete`))
      console.log(JSON.stringify(emu.paymentIntents().filter((p) => p.metadata.cart_id === cart.id).map((p) => [p.id, p.status])))
    }
    // products with odd prices
    const { product } = await e2e.admin.post<{ product: { id: string; variants: { id: string }[] } }>("/admin/products", {
      title: "Chaos Yacht", status: "published", options: [{ title: "Size" }],
      variants: [{ title: "One", manage_inventory: false, prices: [{ currency_code: "eur", amount: 150_000_000 }, { currency_code: "usd", amount: 1 }], options: [{ value: "One" }] }],
    })
    const huge = await checkout(e2e.store, { provider: null, variantId: product.variants[0].id }).catch((e: Error) => e)
    if (huge instanceof Error) console.log("huge checkout", huge.message)
    else show("huge select", await e2e.store.request("POST", `/store/carts/${huge.id}/payment-session`, { provider_id: "stripe" }))
    const tiny = await checkout(e2e.store, { region: "usd", provider: null, variantId: product.variants[0].id, country: "us", skipPaymentSessions: true }).catch((e: Error) => e)
    if (!(tiny instanceof Error)) { show("tiny sessions", await e2e.store.request("POST", `/store/carts/${tiny.id}/payment-sessions`)); const sm = tiny.shipping_methods[0]; console.log("sm", JSON.stringify(sm)); }
    if (tiny instanceof Error) console.log("tiny checkout", tiny.message)
    else show("tiny select", await e2e.store.request("POST", `/store/carts/${tiny.id}/payment-session`, { provider_id: "stripe" }))
    // unsupported currency
    show("add cur", await e2e.admin.request("POST", "/admin/store/currencies/irr"))
    const reg = await e2e.admin.request<{ region: { id: string } }>("POST", "/admin/regions", { name: "Iran", currency_code: "irr", tax_rate: 0, payment_providers: ["stripe", "manual"], fulfillment_providers: ["manual"], countries: ["ir"] })
    show("region", reg)
    show("price", await e2e.admin.request("POST", `/admin/products/${product.id}/variants/${product.variants[0].id}`, { prices: [{ currency_code: "irr", amount: 500000 }, { currency_code: "eur", amount: 150_000_000 }, { currency_code: "usd", amount: 1 }] }))
    show("so", await e2e.admin.request("POST", "/admin/shipping-options", { name: "IR ship", region_id: reg.body.region.id, provider_id: "manual", data: { id: "manual-fulfillment" }, price_type: "flat_rate", amount: 1000 }))
    const irr = await checkout(e2e.store, { region: "irr", provider: null, variantId: product.variants[0].id, country: "ir" }).catch((e: Error) => e)
    if (irr instanceof Error) console.log("irr checkout", irr.message)
    else show("irr select", await e2e.store.request("POST", `/store/carts/${irr.id}/payment-session`, { provider_id: "stripe" }))
  })
})
