import type { Cart, Region } from "../../support"
import {
  anomaly,
  isClearError,
  messageOf,
  type Anomaly,
  type ChaosContext,
} from "../support/context"
import { checkoutTarget } from "../support/fixtures"
import { checkLedger, settleWebhooks, type LedgerResult } from "../support/ledger"
import { Shopper } from "../support/shopper"

export const SCENARIO = "hostile store input"

export interface InputCase {
  name: string
  /** `plugin`: the plugin decides the answer; `medusa`: Medusa's own validation does. */
  owner: "plugin" | "medusa"
  status: number
  message: string
  clear: boolean
}

export interface StoreInputResult {
  cases: InputCase[]
  /** Cases Medusa itself answers without a clear message (not the plugin's to fix). */
  medusaNotes: string[]
  ledger: LedgerResult
  anomalies: Anomaly[]
  /** Carts of the "pays without an email and leaves" case. */
  abandonedWithoutEmail: { cartId: string; intentId: string; intentStatus: string; orders: number }
}

interface Tampering {
  name: string
  data: Record<string, unknown> | string
  /** Medusa's request validation answers before the plugin sees the data. */
  owner?: "medusa"
  /** Medusa drops the key while parsing: a 200 that changes nothing is fine. */
  mayBeIgnored?: boolean
}

/** Fields a storefront might try to slip into the payment session. */
function tamperedPayloads(victimIntent: string, victimSecret: string): Tampering[] {
  return [
    { name: "amount lowered", data: { amount: 1 } },
    { name: "negative amount", data: { amount: -100 } },
    { name: "fractional amount", data: { amount: 12.5 } },
    { name: "huge amount", data: { amount: 1e20 } },
    { name: "amount as a string", data: { amount: "1" } },
    { name: "amount null", data: { amount: null } },
    { name: "another cart's intent", data: { id: victimIntent } },
    {
      name: "another cart's intent and amount",
      data: { id: victimIntent, amount: 1, status: "requires_capture" },
    },
    { name: "another cart's client secret", data: { client_secret: victimSecret } },
    { name: "status forced to succeeded", data: { status: "succeeded" } },
    { name: "status forced to requires_capture", data: { status: "requires_capture" } },
    { name: "currency switched", data: { currency: "jpy" } },
    { name: "capture method switched", data: { capture_method: "automatic" } },
    { name: "customer switched", data: { customer: "cus_chaosintruder" } },
    { name: "extra key", data: { discount: 100 } },
    { name: "extra metadata", data: { metadata: { cart_id: "cart_other" } } },
    { name: "100 KB value", data: { note: "a".repeat(100_000) } },
    { name: "nested arrays", data: { refunds: [[[{ id: "re_x", amount: 1 }]]] } },
    {
      name: "prototype key",
      data: '{"__proto__": {"amount": 1}}',
      owner: "medusa",
      mayBeIgnored: true,
    },
    {
      name: "constructor key",
      data: { constructor: { prototype: { amount: 1 } } },
      owner: "medusa",
    },
  ]
}

async function rawPost(
  ctx: ChaosContext,
  path: string,
  json: string
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${ctx.backend().url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: json,
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON
  }
  ctx.capture.scanResponse("store response", `POST ${path} -> ${res.status}`, body)
  return { status: res.status, body }
}

function sessionFingerprint(cart: Cart): string {
  const data = { ...(cart.payment_session?.data ?? {}) }
  delete data.synced_at
  return JSON.stringify(data)
}

/**
 * What a hostile or careless storefront can send through the Store API: tampered payment
 * session data, impossible quantities, amounts Stripe cannot charge, currencies it does not
 * support, and a cart without an email. The plugin must refuse clearly and never let any of
 * it change what is charged or which intent completes a cart.
 */
export async function runStoreInput(ctx: ChaosContext): Promise<StoreInputResult> {
  const { emu } = ctx
  const anomalies: Anomaly[] = []
  const cases: InputCase[] = []
  const medusaNotes: string[] = []
  const target = await checkoutTarget(ctx)
  const record = (
    name: string,
    owner: InputCase["owner"],
    status: number,
    body: unknown,
    expectOk = false
  ) => {
    const entry: InputCase = {
      name,
      owner,
      status,
      message: messageOf(body).slice(0, 300),
      clear: expectOk ? status < 300 : isClearError(status, body),
    }
    cases.push(entry)
    if (expectOk) {
      if (status >= 300)
        anomalies.push(anomaly(SCENARIO, "refused", `${name}: ${status} ${entry.message}`))
      return entry
    }
    if (status < 400) {
      anomalies.push(anomaly(SCENARIO, "accepted", `${name}: answered ${status}`))
    } else if (!entry.clear) {
      if (owner === "plugin") {
        anomalies.push(anomaly(SCENARIO, "unclear error", `${name}: ${status} ${entry.message}`))
      } else {
        medusaNotes.push(`${name}: Medusa answers ${status} "${entry.message}"`)
      }
    } else if (owner === "plugin" && status >= 500) {
      anomalies.push(anomaly(SCENARIO, "server error", `${name}: ${status} ${entry.message}`))
    }
    return entry
  }

  // --- Tampered session data: an attacker's cart and a victim's paid cart -------------------
  const victim = new Shopper(ctx, 40_000, { email: "victim@example.com" })
  await victim.prepareCart(target.regionId, target.variantId, target.country)
  const victimCart = await victim.selectStripe()
  const victimIntent = String(victimCart.payment_session?.data.id)
  const victimSecret = String(victimCart.payment_session?.data.client_secret)
  await victim.confirmIfNeeded(victimCart)

  const attacker = new Shopper(ctx, 40_001, { email: "attacker@example.com" })
  const attackerCartId = await attacker.prepareCart(
    target.regionId,
    target.variantId,
    target.country
  )
  const attackerCart = await attacker.selectStripe()
  const attackerIntent = String(attackerCart.payment_session?.data.id)
  const fingerprint = sessionFingerprint(attackerCart)
  const intentsBefore = JSON.stringify(
    emu.paymentIntents().map((i) => [i.id, i.status, i.amount, i.currency, i.capture_method])
  )
  const sessionPath = `/store/carts/${attackerCartId}/payment-sessions/stripe`
  for (const { name, data, owner, mayBeIgnored } of tamperedPayloads(victimIntent, victimSecret)) {
    const res =
      typeof data === "string"
        ? await rawPost(ctx, sessionPath, `{"data": ${data}}`)
        : await ctx.store.request("POST", sessionPath, { data })
    record(
      `session data: ${name}`,
      owner ?? "plugin",
      res.status,
      res.body,
      mayBeIgnored && res.status < 300
    )
    const now = await attacker.getCart()
    if (sessionFingerprint(now) !== fingerprint) {
      anomalies.push(
        anomaly(
          SCENARIO,
          "session data changed",
          `${name}: ${fingerprint} -> ${sessionFingerprint(now)}`
        )
      )
    }
  }
  const empty = await ctx.store.request("POST", sessionPath, { data: {} })
  record("session data: nothing to change", "plugin", empty.status, empty.body, true)
  const intentsAfter = JSON.stringify(
    emu.paymentIntents().map((i) => [i.id, i.status, i.amount, i.currency, i.capture_method])
  )
  if (intentsAfter !== intentsBefore) {
    anomalies.push(
      anomaly(SCENARIO, "stripe changed", "tampered session data changed an intent at Stripe")
    )
  }

  // The attacker completes without paying: no order, whoever else paid.
  const unpaid = await ctx.store.request<{ type?: string }>(
    "POST",
    `/store/carts/${attackerCartId}/complete`
  )
  cases.push({
    name: "complete without paying",
    owner: "plugin",
    status: unpaid.status,
    message: messageOf(unpaid.body).slice(0, 300) || `type ${String(unpaid.body?.type)}`,
    clear: true,
  })
  if (unpaid.ok && unpaid.body?.type === "order") {
    anomalies.push(
      anomaly(SCENARIO, "unpaid order", `cart ${attackerCartId} completed without its payment`)
    )
  }
  // Then pays for real: the cart's own intent, for the cart's total.
  const attackerOrder = await attacker.complete()
  const orderRow = await ctx.e2e.db.one<{ intent_id: string; amount: number }>(
    `SELECT p.data->>'id' AS intent_id, p.amount FROM payment p WHERE p.order_id = $1`,
    [attackerOrder]
  )
  const finalCart = await ctx.e2e.db.one<{ total: number }>(
    `SELECT p.amount AS total FROM payment p WHERE p.cart_id = $1`,
    [attackerCartId]
  )
  if (
    orderRow?.intent_id !== attackerIntent &&
    orderRow?.intent_id !== attacker.result.confirmed.at(-1)
  ) {
    anomalies.push(
      anomaly(
        SCENARIO,
        "wrong intent",
        `cart ${attackerCartId} completed with ${orderRow?.intent_id}, not its own ${attackerIntent}`
      )
    )
  }
  if (orderRow?.intent_id === victimIntent) {
    anomalies.push(
      anomaly(SCENARIO, "wrong intent", `cart ${attackerCartId} completed with the victim's intent`)
    )
  }
  const charged = emu.paymentIntent(String(orderRow?.intent_id))
  if (charged && finalCart && charged.amount !== Number(finalCart.total)) {
    anomalies.push(
      anomaly(SCENARIO, "amount", `charged ${charged.amount}, cart total ${finalCart.total}`)
    )
  }
  const victimOrder = await victim.complete()

  // --- Quantities (Medusa validates them; nothing may reach Stripe) --------------------------
  const qtyShopper = new Shopper(ctx, 40_002, { email: "quantities@example.com" })
  const qtyCartId = await qtyShopper.prepareCart(target.regionId, target.variantId, target.country)
  const qtyCart = await qtyShopper.selectStripe()
  const qtyIntent = String(qtyCart.payment_session?.data.id)
  const qtyAmount = emu.paymentIntent(qtyIntent)?.amount
  const quantities: [string, unknown][] = [
    ["negative quantity", -1],
    ["fractional quantity", 0.5],
    ["huge quantity", 1e12],
    ["quantity as text", "many"],
    ["quantity beyond JavaScript's safe integers", 1e300],
  ]
  for (const [name, quantity] of [...quantities, ["zero quantity", 0] as [string, unknown]]) {
    const add = await ctx.store.request("POST", `/store/carts/${qtyCartId}/line-items`, {
      variant_id: target.variantId,
      quantity,
    })
    record(`line item: ${name}`, "medusa", add.status, add.body)
  }
  // (An update to quantity 0 removes the line item: that one is legitimate.)
  for (const [name, quantity] of quantities) {
    const update = await ctx.store.request(
      "POST",
      `/store/carts/${qtyCartId}/line-items/${qtyCart.items[0].id}`,
      { quantity }
    )
    record(`line item update: ${name}`, "medusa", update.status, update.body)
  }
  if (emu.paymentIntent(qtyIntent)?.amount !== qtyAmount) {
    anomalies.push(
      anomaly(SCENARIO, "stripe changed", `refused quantities changed ${qtyIntent}'s amount`)
    )
  }

  // --- Amounts Stripe cannot charge, currencies it does not support --------------------------
  const { product } = await ctx.admin.post<{ product: { id: string; variants: { id: string }[] } }>(
    "/admin/products",
    {
      title: "Chaos Odd Prices",
      handle: `chaos-odd-prices-${Date.now()}`,
      status: "published",
      options: [{ title: "Size" }],
      variants: [
        {
          title: "One",
          manage_inventory: false,
          prices: [
            { currency_code: "eur", amount: 150_000_000 },
            { currency_code: "usd", amount: 1 },
            { currency_code: "jpy", amount: 40 },
          ],
          options: [{ value: "One" }],
        },
      ],
    }
  )
  const oddVariant = product.variants[0].id
  const regions = (await ctx.store.get<{ regions: Region[] }>("/store/regions")).regions
  const regionOf = (currency: string) => regions.find((r) => r.currency_code === currency) as Region

  const hugeShopper = new Shopper(ctx, 40_003, { email: "huge@example.com" })
  await hugeShopper.prepareCart(target.regionId, oddVariant, target.country)
  await ctx.store.request("POST", `/store/carts/${hugeShopper.result.cartId}/payment-sessions`)
  const huge = await ctx.store.request(
    "POST",
    `/store/carts/${hugeShopper.result.cartId}/payment-session`,
    {
      provider_id: "stripe",
    }
  )
  record("amount above Stripe's maximum", "plugin", huge.status, huge.body)

  for (const currency of ["usd", "jpy"]) {
    const region = regionOf(currency)
    const { cart } = await ctx.store.post<{ cart: Cart }>("/store/carts", { region_id: region.id })
    await ctx.store.post(`/store/carts/${cart.id}/line-items`, {
      variant_id: oddVariant,
      quantity: 1,
    })
    await ctx.store.post(`/store/carts/${cart.id}`, { email: `tiny-${currency}@example.com` })
    await ctx.store.request("POST", `/store/carts/${cart.id}/payment-sessions`)
    const tiny = await ctx.store.request("POST", `/store/carts/${cart.id}/payment-session`, {
      provider_id: "stripe",
    })
    record(
      `amount below Stripe's minimum (${currency.toUpperCase()})`,
      "plugin",
      tiny.status,
      tiny.body
    )
  }

  const blikShopper = new Shopper(ctx, 40_004, { email: "blik@example.com" })
  await blikShopper.prepareCart(target.regionId, target.variantId, target.country)
  await ctx.store.request("POST", `/store/carts/${blikShopper.result.cartId}/payment-sessions`)
  const blik = await ctx.store.request(
    "POST",
    `/store/carts/${blikShopper.result.cartId}/payment-session`,
    {
      provider_id: "stripe-blik",
    }
  )
  // BLIK charges PLN only, so the EUR region does not offer it and Medusa refuses the choice.
  record("BLIK in a EUR cart", "medusa", blik.status, blik.body)

  await ctx.admin.post("/admin/store/currencies/irr")
  const { region: irr } = await ctx.admin.post<{ region: { id: string } }>("/admin/regions", {
    name: `Chaos IRR ${Date.now()}`,
    currency_code: "irr",
    tax_rate: 0,
    payment_providers: ["stripe", "manual"],
    fulfillment_providers: ["manual"],
    countries: ["ir"],
  })
  await ctx.admin.post(`/admin/products/${product.id}/variants/${oddVariant}`, {
    prices: [
      { currency_code: "eur", amount: 150_000_000 },
      { currency_code: "usd", amount: 1 },
      { currency_code: "jpy", amount: 40 },
      { currency_code: "irr", amount: 500_000 },
    ],
  })
  const { cart: irrCart } = await ctx.store.post<{ cart: Cart }>("/store/carts", {
    region_id: irr.id,
  })
  await ctx.store.post(`/store/carts/${irrCart.id}/line-items`, {
    variant_id: oddVariant,
    quantity: 1,
  })
  await ctx.store.post(`/store/carts/${irrCart.id}`, { email: "irr@example.com" })
  await ctx.store.request("POST", `/store/carts/${irrCart.id}/payment-sessions`)
  const irrSelect = await ctx.store.request("POST", `/store/carts/${irrCart.id}/payment-session`, {
    provider_id: "stripe",
  })
  record("currency Stripe does not support (IRR)", "plugin", irrSelect.status, irrSelect.body)

  // --- No email --------------------------------------------------------------------------------
  const noEmail = new Shopper(ctx, 40_005, { email: "" })
  const noEmailCart = await noEmail.prepareCart(target.regionId, target.variantId, target.country)
  const noEmailSelected = await ctx.store.request<{ cart: Cart }>(
    "POST",
    `/store/carts/${noEmailCart}/payment-sessions`
  )
  const noEmailSession = await ctx.store.request<{ cart: Cart }>(
    "POST",
    `/store/carts/${noEmailCart}/payment-session`,
    {
      provider_id: "stripe",
    }
  )
  if (!noEmailSelected.ok || !noEmailSession.ok) {
    const refused = noEmailSelected.ok ? noEmailSession : noEmailSelected
    record("payment without an email", "plugin", refused.status, refused.body)
    // The shopper adds the email: paying and completing must then work.
    await ctx.store.post(`/store/carts/${noEmailCart}`, { email: "late-email@example.com" })
    try {
      await noEmail.confirmIfNeeded(await noEmail.selectStripe())
      await noEmail.complete()
    } catch (error) {
      anomalies.push(
        anomaly(SCENARIO, "cart not retryable", `no email, then an email: ${String(error)}`)
      )
    }
  } else {
    await noEmail.confirmIfNeeded(noEmailSession.body.cart)
    const complete = await ctx.store.request("POST", `/store/carts/${noEmailCart}/complete`)
    record("complete without an email", "plugin", complete.status, complete.body)
    // The shopper adds the email and tries again: the cart must complete.
    await ctx.store.post(`/store/carts/${noEmailCart}`, { email: "late-email@example.com" })
    try {
      await noEmail.complete()
    } catch (error) {
      anomalies.push(
        anomaly(SCENARIO, "cart not retryable", `no email, then an email: ${String(error)}`)
      )
    }
  }

  // Paid without an email and left: the webhook cannot make an order without a customer.
  const leaver = new Shopper(ctx, 40_006, { email: "" })
  const leaverCart = await leaver.prepareCart(target.regionId, target.variantId, target.country)
  await ctx.store.request("POST", `/store/carts/${leaverCart}/payment-sessions`)
  const leaverSession = await ctx.store.request<{ cart: Cart }>(
    "POST",
    `/store/carts/${leaverCart}/payment-session`,
    {
      provider_id: "stripe",
    }
  )
  let abandonedWithoutEmail: StoreInputResult["abandonedWithoutEmail"] = {
    cartId: leaverCart,
    intentId: "",
    intentStatus: "no intent was created",
    orders: 0,
  }
  if (leaverSession.ok) {
    const intentId = String(leaverSession.body.cart.payment_session?.data.id)
    await leaver.confirmIfNeeded(leaverSession.body.cart)
    await settleWebhooks(ctx, 60_000)
    abandonedWithoutEmail = {
      cartId: leaverCart,
      intentId,
      intentStatus: emu.paymentIntent(intentId)?.status ?? "missing",
      orders: await ctx.e2e.db.count(`SELECT count(*) FROM "order" WHERE cart_id = $1`, [
        leaverCart,
      ]),
    }
  } else {
    record(
      "payment without an email (shopper leaves)",
      "plugin",
      leaverSession.status,
      leaverSession.body
    )
  }

  await settleWebhooks(ctx, 60_000)
  const shoppers = [victim, attacker, qtyShopper, noEmail]
  const ledger = await checkLedger(
    ctx,
    SCENARIO,
    shoppers.map((s) => s.result.cartId).filter((id): id is string => Boolean(id)),
    { expectOrder: (cartId) => cartId !== qtyCartId }
  )
  anomalies.push(...ledger.anomalies)
  if (!victimOrder) {
    anomalies.push(anomaly(SCENARIO, "victim", "the victim's cart did not complete"))
  }
  return { cases, medusaNotes, ledger, anomalies, abandonedWithoutEmail }
}
