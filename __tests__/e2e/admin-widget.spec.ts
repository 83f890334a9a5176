import Stripe from "stripe"
import {
  adminLogin,
  ensureAdminBuild,
  openAdminBrowser,
  openOrderWidget,
  saveScreenshot,
  type AdminBrowser,
  type AdminBuild,
} from "../support/admin"
import {
  bootE2E,
  checkout,
  completeCart,
  emulatorOf,
  type Cart,
  type E2E,
  type Order,
} from "../support"
import {
  errorMessage,
  formatMoney,
  intentStatus,
  paymentMethodLabel,
  riskBadge,
  threeDSecure,
} from "../../src/admin/lib/format"

/** Country flag images Medusa's admin loads for addresses (the `flag-icons` package). */
const MEDUSA_ADMIN_FLAGS = /\/flag-icons\/flags\//

/** A cold admin build takes a minute or two on two cores; a cached one is instant. */
const SETUP_TIMEOUT = 600_000
const TEST_TIMEOUT = 120_000

const eur = (amount: number) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency: "EUR" }).format(amount / 100)

describe("admin: the Stripe widget on the order page, in Chromium", () => {
  let build: AdminBuild
  let e2e: E2E
  let browser: AdminBrowser

  beforeAll(async () => {
    build = await ensureAdminBuild()
    if (process.env.E2E_VERBOSE === "1") {
      process.stdout.write(`[admin] build: ${JSON.stringify(build)}\n`)
    }
    e2e = await bootE2E({
      emulator: true,
      webhooks: false,
      // No usage-data prompt in the admin, and no analytics script from outside.
      env: { ADMIN_BUILD_DIR: build.dir, MEDUSA_FF_ANALYTICS: "false" },
    })
    browser = await openAdminBrowser(e2e.backend.url)
    await adminLogin(browser)
  }, SETUP_TIMEOUT)

  afterAll(async () => {
    const external = browser?.external ?? []
    await browser?.close()
    await e2e?.shutdown()
    // Medusa's admin itself draws country flags from a CDN (blocked here, as everything
    // outside this machine is); nothing else may leave it.
    expect(external.filter((url) => !MEDUSA_ADMIN_FLAGS.test(url))).toEqual([])
  })

  const emulator = () => emulatorOf(e2e)

  const intentIdOf = (cart: Cart): string => {
    const id = cart.payment_session?.data.id
    if (typeof id !== "string") throw new Error(`Cart ${cart.id} has no Stripe payment session`)
    return id
  }

  const placeOrder = async (provider: string): Promise<{ order: Order; intentId?: string }> => {
    const cart = await checkout(e2e.store, { region: "eur", provider })
    const intentId = provider === "manual" ? undefined : intentIdOf(cart)
    if (intentId) {
      await emulator().confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
    }
    const completed = await completeCart(e2e.store, cart.id)
    if (completed.type !== "order") {
      throw new Error(`Expected an order, got ${completed.type}: ${JSON.stringify(completed.data)}`)
    }
    return { order: completed.data, intentId }
  }

  it("is served with the admin at /app", async () => {
    const res = await fetch(`${e2e.backend.url}/app/login`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<div id="root">')
  })

  it(
    "shows a captured card payment: intent, amounts, card, risk, refunds and disputes",
    async () => {
      const { order, intentId } = await placeOrder("stripe")
      const total = order.total as number
      await e2e.admin.post(`/admin/orders/${order.id}/capture`)
      await e2e.admin.post(`/admin/orders/${order.id}/refund`, { amount: 700, reason: "other" })
      await emulator().refundFromDashboard(intentId as string, 500)
      await emulator().createDispute(intentId as string, { reason: "fraudulent", amount: 1000 })

      const widget = await openOrderWidget(browser, order.id)
      const payment = widget.locator(`[data-payment-intent="${intentId}"]`)
      await expect(payment.getByTestId("stripe-payment-intent").innerText()).resolves.toBe(intentId)
      await expect(payment.getByTestId("stripe-payment-status").innerText()).resolves.toBe(
        "Succeeded"
      )
      await expect(payment.getByTestId("stripe-amount-captured").innerText()).resolves.toBe(
        eur(total)
      )
      await expect(payment.getByTestId("stripe-amount-authorized").innerText()).resolves.toBe(
        eur(total)
      )
      await expect(payment.getByTestId("stripe-amount-refunded").innerText()).resolves.toBe(
        eur(1200)
      )
      const method = await payment.getByTestId("stripe-payment-method").innerText()
      expect(method).toMatch(/visa/i)
      expect(method).toContain("4242")
      // The emulator's payments are not in Stripe's dashboard: no link there.
      await expect(payment.getByTestId("stripe-dashboard-link").count()).resolves.toBe(0)
      await expect(payment.getByTestId("stripe-dashboard-note").innerText()).resolves.toContain(
        emulator().url
      )
      await expect(payment.getByTestId("stripe-risk").innerText()).resolves.toMatch(/normal/i)

      const refunds = payment.getByTestId("stripe-refund")
      await expect(refunds.count()).resolves.toBe(2)
      const outside = refunds.filter({ hasText: "Outside Medusa" })
      await expect(outside.count()).resolves.toBe(1)
      await expect(outside.innerText()).resolves.toContain(eur(500))
      const disputes = payment.getByTestId("stripe-dispute")
      await expect(disputes.count()).resolves.toBe(1)
      await expect(disputes.innerText()).resolves.toMatch(/fraudulent/i)

      await widget.scrollIntoViewIfNeeded()
      await saveScreenshot(browser.page, "admin-order-widget.png")
      await saveScreenshot(widget, "admin-order-widget-card.png")
      expect(browser.problems.filter((p) => p.includes("/admin/stripe/"))).toEqual([])
    },
    TEST_TIMEOUT
  )

  it(
    "shows a skeleton while Stripe answers",
    async () => {
      const { order, intentId } = await placeOrder("stripe")
      emulator().faults.setLatency(3000, "GET /v1/payment_intents/:id")
      try {
        const { page } = browser
        await page.goto(`${browser.adminUrl}/a/orders/${order.id}`)
        const widget = page.locator('[data-testid="stripe-payments-widget"]')
        await page
          .locator('[data-testid="stripe-payments-widget"][data-state="loading"]')
          .waitFor({ timeout: 30_000 })
        await expect(widget.getByTestId("stripe-payments-loading").isVisible()).resolves.toBe(true)
        await saveScreenshot(widget, "admin-order-widget-loading.png")
        await page
          .locator('[data-testid="stripe-payments-widget"][data-state="ready"]')
          .waitFor({ timeout: 30_000 })
        await expect(widget.getByTestId("stripe-payment-intent").innerText()).resolves.toBe(
          intentId
        )
      } finally {
        emulator().faults.setLatency(0, "GET /v1/payment_intents/:id")
      }
    },
    TEST_TIMEOUT
  )

  it(
    "says so when the order has no Stripe payment",
    async () => {
      const { order } = await placeOrder("manual")
      const widget = await openOrderWidget(browser, order.id, "empty")
      await expect(widget.innerText()).resolves.toContain("No Stripe payment on this order")
      await saveScreenshot(widget, "admin-order-widget-empty.png")
    },
    TEST_TIMEOUT
  )

  it(
    "shows Stripe's failure, then the payment once Stripe answers again",
    async () => {
      const { order, intentId } = await placeOrder("stripe")
      emulator().faults.failNext(100, { route: "GET /v1/payment_intents/:id", kind: "500" })
      try {
        const widget = await openOrderWidget(browser, order.id, "error")
        await expect(widget.getByTestId("stripe-payments-error").innerText()).resolves.toContain(
          "Could not load the Stripe payments"
        )
        await saveScreenshot(widget, "admin-order-widget-error.png")
        emulator().faults.clear()
        await widget.getByRole("button", { name: "Try again" }).click()
        await browser.page
          .locator('[data-testid="stripe-payments-widget"][data-state="ready"]')
          .waitFor({ timeout: 30_000 })
        await expect(widget.getByTestId("stripe-payment-intent").innerText()).resolves.toBe(
          intentId
        )
        await expect(widget.getByTestId("stripe-payment-status").innerText()).resolves.toBe(
          "Authorized"
        )
      } finally {
        emulator().faults.clear()
      }
    },
    TEST_TIMEOUT
  )

  it(
    "reconciles the order with Stripe from its button, and shows what it fixed and flagged",
    async () => {
      const { order, intentId } = await placeOrder("stripe")
      // Captured in part in the Stripe dashboard; no webhook reaches this backend.
      const { host, port, protocol } = emulator().stripeConfig()
      const stripe = new Stripe(e2e.secrets.apiKey, { host, port, protocol })
      await stripe.paymentIntents.capture(intentId as string, { amount_to_capture: 1000 })

      const widget = await openOrderWidget(browser, order.id)
      await widget.getByRole("button", { name: "Reconcile with Stripe" }).click()
      const result = widget.getByTestId("stripe-reconciliation-result")
      await result.waitFor({ timeout: 20_000 })
      const text = await result.innerText()
      expect(text).toContain(`Fixed: payment`)
      expect(text).toContain(`Needs you: ${intentId} was captured in part at Stripe (10.00 EUR`)
      await saveScreenshot(widget, "admin-order-widget-reconciled.png")
      const payment = await e2e.db.one<{ amount: number; captured_at: Date | null }>(
        `SELECT amount, captured_at FROM payment WHERE order_id = $1`,
        [order.id]
      )
      expect(payment).toMatchObject({ amount: 1000, captured_at: expect.any(Date) })
    },
    TEST_TIMEOUT
  )

  it(
    "names the PaymentIntent Stripe no longer has, instead of a bare HTTP error",
    async () => {
      const { order, intentId } = await placeOrder("stripe")
      // What a reset emulator or a switch of keys looks like: Stripe forgot this one intent.
      const snapshot = emulator().snapshot()
      snapshot.store.paymentIntents = snapshot.store.paymentIntents.filter(
        ([id]) => id !== intentId
      )
      emulator().restore(snapshot)

      const res = await e2e.admin.request("GET", `/admin/stripe/orders/${order.id}/payments`)
      expect(res.status).toBe(404)
      expect(res.body).toMatchObject({
        code: "payment_intent_missing",
        payment_intent_id: intentId,
        message: expect.stringContaining(`PaymentIntent ${intentId} no longer exists`),
      })
      const widget = await openOrderWidget(browser, order.id, "error")
      const shown = await widget.getByTestId("stripe-payments-error").innerText()
      expect(shown).toContain(`PaymentIntent ${intentId} no longer exists`)
      expect(shown).toContain("the emulator was reset")
      await saveScreenshot(widget, "admin-order-widget-missing-intent.png")
    },
    TEST_TIMEOUT
  )
})

describe("admin widget: how figures and labels read", () => {
  it("formats amounts in Medusa's unit of each currency", () => {
    expect(formatMoney(3300, "eur", "en-US")).toBe("€33.00")
    expect(formatMoney(4500, "jpy", "en-US")).toBe("¥4,500")
    expect(formatMoney(12345, "kwd", "en-US")).toBe("KWD\u00a012.345")
    expect(formatMoney(199900, "huf", "en-US")).toBe("HUF\u00a0199,900")
    expect(formatMoney(1050, "xyz", "en-US")).toBe("XYZ\u00a010.50")
  })

  it("names the payment method", () => {
    const method = { type: "card", brand: "visa", last4: "4242", wallet: null }
    expect(paymentMethodLabel(method)).toBe("Visa •••• 4242")
    expect(paymentMethodLabel({ ...method, brand: "mastercard", wallet: "apple_pay" })).toBe(
      "Mastercard •••• 4242 · Apple Pay"
    )
    const local = { brand: null, last4: null, wallet: null }
    expect(paymentMethodLabel({ ...local, type: "ideal" })).toBe("iDEAL")
    expect(paymentMethodLabel({ ...local, type: "sepa_debit" })).toBe("SEPA Direct Debit")
    expect(paymentMethodLabel({ ...local, type: "some_new_method" })).toBe("Some new method")
    expect(paymentMethodLabel({ ...local, type: null })).toBe("Not chosen yet")
  })

  it("gives statuses, risk and 3-D Secure a label and a colour", () => {
    expect(intentStatus("requires_capture")).toEqual({ label: "Authorized", color: "blue" })
    expect(intentStatus("succeeded")).toEqual({ label: "Succeeded", color: "green" })
    expect(riskBadge("highest")).toEqual({ label: "Highest", color: "red" })
    expect(riskBadge("elevated")).toEqual({ label: "Elevated", color: "orange" })
    expect(threeDSecure(null)).toEqual({ label: "Not requested", color: "grey" })
    expect(threeDSecure({ result: "authenticated", version: "2.2.0" })).toEqual({
      label: "Authenticated (2.2.0)",
      color: "green",
    })
    expect(threeDSecure({ result: "failed", version: null })).toEqual({
      label: "Failed",
      color: "red",
    })
  })

  it("explains errors of the admin API", () => {
    expect(errorMessage({ response: { status: 500, data: { message: "Stripe is down" } } })).toBe(
      "Stripe is down (HTTP 500)"
    )
    expect(errorMessage({ response: { status: 502, data: "<html>" } })).toBe(
      "The server answered HTTP 502"
    )
    expect(errorMessage(new Error("Network Error"))).toBe("Network Error")
    expect(errorMessage(undefined)).toBe("Unknown error")
  })
})
