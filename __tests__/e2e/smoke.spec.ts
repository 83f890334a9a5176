import fs from "fs"
import path from "path"

import {
  ADMIN_EMAIL,
  E2E,
  LOCAL_PAYMENT_PROVIDERS,
  PLUGIN_NAME,
  REPO_ROOT,
  Region,
  bootE2E,
  checkout,
  completeCart,
  emulatorOf,
  listRegions,
} from "../support"

jest.setTimeout(60_000)

const emulatorBuilt = fs.existsSync(path.join(REPO_ROOT, "dist", "emulator", "index.js"))
const withEmulator = emulatorBuilt ? it : it.skip

describe("smoke: Medusa with the plugin installed from its tarball", () => {
  let e2e: E2E

  beforeAll(async () => {
    e2e = await bootE2E()
    process.stdout.write(
      `[e2e smoke] timings (ms): ${JSON.stringify(e2e.timings)}; payment providers: ${e2e.paymentProviders.join(", ")}; emulator: ${e2e.emulator ? e2e.emulator.url : "not built"}\n`
    )
  }, 180_000)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  it("answers /health", async () => {
    const res = await fetch(`${e2e.backend.url}/health`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe("OK")
  })

  it("loads the plugin from the app's node_modules, not from the repository", () => {
    const plugin = e2e.backend.plugins.find((p) => p.name === PLUGIN_NAME)
    expect(plugin).toBeDefined()
    expect(plugin?.resolve).toBe(path.join(e2e.app.pluginDir, "dist"))
    expect(fs.existsSync(path.join(e2e.app.pluginDir, "package.json"))).toBe(true)
    expect(fs.existsSync(path.join(e2e.app.pluginDir, "src"))).toBe(false)
  })

  it("applies the plugin's migrations from the tarball", async () => {
    const dir = path.join(e2e.app.pluginDir, "dist", "migrations")
    const timestamps = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((file) => file.endsWith(".js"))
          .map((file) => Number(/^(\d+)/.exec(file)?.[1]))
      : []
    const applied = await e2e.db.query<{ timestamp: string }>("SELECT timestamp FROM migrations")
    const appliedTimestamps = applied.map((row) => Number(row.timestamp))
    expect(appliedTimestamps).toEqual(expect.arrayContaining(timestamps))
  })

  it("lets the seeded admin log in", async () => {
    const { user } = await e2e.admin.get<{ user: { email: string } }>("/admin/auth")
    expect(user.email).toBe(ADMIN_EMAIL)
  })

  it("lists the four regions with their currencies", async () => {
    const regions = await listRegions(e2e.store)
    expect(regions.map((r) => [r.name, r.currency_code]).sort()).toEqual([
      ["Europe", "eur"],
      ["Japan", "jpy"],
      ["Poland", "pln"],
      ["United States", "usd"],
    ])
  })

  it("offers the plugin's payment providers in every region", async () => {
    const shipsStripeProvider = fs.existsSync(
      path.join(e2e.app.pluginDir, "dist", "services", "stripe-provider.js")
    )
    if (shipsStripeProvider) {
      expect(e2e.paymentProviders).toContain("stripe")
    }
    const regions = await listRegions(e2e.store)
    const ids = (region: Region) => region.payment_providers.map((p) => p.id)
    for (const region of regions) {
      expect(ids(region)).toContain("manual")
      const expected = ["stripe", ...(LOCAL_PAYMENT_PROVIDERS[region.currency_code] ?? [])].filter(
        (id) => e2e.paymentProviders.includes(id)
      )
      expect(ids(region)).toEqual(expect.arrayContaining(expected))
    }
  })

  it("completes a cart paid with the manual provider", async () => {
    const cart = await checkout(e2e.store, { region: "Europe", provider: "manual" })
    expect(cart.payment_session?.provider_id).toBe("manual")
    expect(cart.shipping_methods).toHaveLength(1)

    const result = await completeCart(e2e.store, cart.id)
    expect(result.type).toBe("order")
    if (result.type !== "order") {
      return
    }
    expect(result.data.currency_code).toBe("eur")
    expect(result.data.total).toBe(2500 + 800)

    const payments = await e2e.db.query<{ provider_id: string; amount: number }>(
      "SELECT provider_id, amount FROM payment WHERE order_id = $1",
      [result.data.id]
    )
    expect(payments).toEqual([{ provider_id: "manual", amount: 3300 }])
  })

  withEmulator("pays a cart with provider stripe on the Stripe emulator", async () => {
    const emulator = emulatorOf(e2e)
    expect(emulator.webhooks.endpoints().map((endpoint) => endpoint.url)).toContain(
      `${e2e.backend.url}/stripe/hooks`
    )

    const cart = await checkout(e2e.store, { region: "Europe", provider: "stripe" })
    const intentId = cart.payment_session?.data.id
    expect(typeof intentId).toBe("string")
    expect(emulator.paymentIntent(intentId as string)).toMatchObject({
      amount: 3300,
      currency: "eur",
      metadata: expect.objectContaining({ cart_id: cart.id }),
    })

    await emulator.confirmPaymentIntent(intentId as string, { payment_method: "pm_card_visa" })
    const result = await completeCart(e2e.store, cart.id)
    expect(result.type).toBe("order")
    const payment = await e2e.db.one<{ provider_id: string }>(
      "SELECT provider_id FROM payment WHERE cart_id = $1",
      [cart.id]
    )
    expect(payment?.provider_id).toBe("stripe")
  })

  it("keeps the Stripe secrets out of the backend logs", () => {
    const logs = e2e.backends.flatMap((b) => b.logs()).join("\n")
    expect(logs).not.toContain(e2e.secrets.apiKey)
    expect(logs).not.toContain(e2e.secrets.webhookSecret)
  })
})
