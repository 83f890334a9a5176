import {
  sleep,
  type ApiResponse,
  type Cart,
  type CompleteCartResponse,
  type ShippingOption,
} from "../../support"
import type { ChaosContext } from "./context"
import { isClearError, messageOf } from "./context"

/** A Store API request that did not succeed, as the shopper saw it. */
export interface FailedRequest {
  cartId: string
  step: string
  /** HTTP status, or `no answer` when the request was cut or took longer than `hangMs`. */
  status: number | "no answer"
  message: string
  ms: number
  clear: boolean
}

export interface ShopperResult {
  index: number
  cartId?: string
  orderId?: string
  /** Every intent the shopper confirmed in Stripe.js. */
  confirmed: string[]
  failures: FailedRequest[]
  /** `POST /store/carts/:id/complete` calls. */
  completeCalls: number
  /** Stripe.js confirmations refused by Stripe (the intent had moved on). */
  confirmErrors: string[]
  gaveUp?: string
  ms: number
}

export interface ShopperOptions {
  region?: string
  email?: string
  paymentMethod?: string
  /** Tries per step before the shopper gives up (default 8). */
  maxTries?: number
  /** A request taking longer than this counts as a hang (default 60 s). */
  hangMs?: number
}

class GaveUp extends Error {}

/**
 * A shopper who keeps trying: every failed request is recorded with what the shopper was told,
 * then sent again after a short pause, as a storefront's retry button would.
 */
export class Shopper {
  readonly result: ShopperResult
  private readonly maxTries: number
  private readonly hangMs: number

  constructor(
    private readonly ctx: ChaosContext,
    index: number,
    private readonly options: ShopperOptions = {}
  ) {
    this.result = { index, confirmed: [], failures: [], completeCalls: 0, confirmErrors: [], ms: 0 }
    this.maxTries = options.maxTries ?? 8
    this.hangMs = options.hangMs ?? 60_000
  }

  private async send<T>(
    step: string,
    method: string,
    path: string,
    body?: unknown
  ): Promise<ApiResponse<T> | undefined> {
    const started = Date.now()
    try {
      const res = await this.ctx.store.request<T>(method, path, body, { timeoutMs: this.hangMs })
      if (!res.ok) {
        this.result.failures.push({
          cartId: this.result.cartId ?? "",
          step,
          status: res.status,
          message: messageOf(res.body).slice(0, 500),
          ms: Date.now() - started,
          clear: isClearError(res.status, res.body),
        })
      }
      return res
    } catch (error) {
      this.result.failures.push({
        cartId: this.result.cartId ?? "",
        step,
        status: "no answer",
        message: error instanceof Error ? error.message : String(error),
        ms: Date.now() - started,
        clear: false,
      })
      return undefined
    }
  }

  /** Sends until the answer is a success; gives up after `maxTries`. */
  async until<T>(step: string, method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const res = await this.send<T>(step, method, path, body)
      if (res?.ok) {
        return res.body
      }
      if (attempt >= this.maxTries) {
        throw new GaveUp(`${step} failed ${attempt} times`)
      }
      await sleep(150 * attempt)
    }
  }

  async getCart(): Promise<Cart> {
    const { cart } = await this.until<{ cart: Cart }>(
      "get cart",
      "GET",
      `/store/carts/${this.result.cartId}`
    )
    return cart
  }

  /** Cart, line item, email and address, shipping method: nothing that reaches Stripe. */
  async prepareCart(regionId: string, variantId: string, country: string): Promise<string> {
    const { cart } = await this.until<{ cart: Cart }>("create cart", "POST", "/store/carts", {
      region_id: regionId,
    })
    this.result.cartId = cart.id
    const base = `/store/carts/${cart.id}`
    await this.until("add line item", "POST", `${base}/line-items`, {
      variant_id: variantId,
      quantity: 1,
    })
    await this.until("set address", "POST", base, {
      ...(this.options.email === ""
        ? {}
        : { email: this.options.email ?? `shopper-${this.result.index}@example.com` }),
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
    const { shipping_options } = await this.until<{ shipping_options: ShippingOption[] }>(
      "shipping options",
      "GET",
      `/store/shipping-options/${cart.id}`
    )
    await this.until("shipping method", "POST", `${base}/shipping-methods`, {
      option_id: shipping_options[0].id,
    })
    return cart.id
  }

  /** Creates the payment sessions and selects Stripe: the backend creates the intent. */
  async selectStripe(provider = "stripe"): Promise<Cart> {
    const base = `/store/carts/${this.result.cartId}`
    await this.until("payment sessions", "POST", `${base}/payment-sessions`)
    const { cart } = await this.until<{ cart: Cart }>(
      "select stripe",
      "POST",
      `${base}/payment-session`,
      {
        provider_id: provider,
      }
    )
    return cart
  }

  /** What Stripe.js does with the session's client secret: confirm with a card. */
  async confirmIfNeeded(cart: Cart): Promise<boolean> {
    const id = cart.payment_session?.data?.id
    if (typeof id !== "string") {
      return false
    }
    const intent = this.ctx.emu.paymentIntent(id)
    if (!intent || !["requires_payment_method", "requires_confirmation"].includes(intent.status)) {
      return false
    }
    await this.ctx.emu.confirmPaymentIntent(id, {
      payment_method: this.options.paymentMethod ?? "pm_card_visa",
    })
    this.result.confirmed.push(id)
    return true
  }

  /**
   * Completes the cart, confirming again only when the session's intent is not paid yet, until
   * the answer is an order. A completed cart (say by the webhook) answers with its order.
   */
  async complete(): Promise<string> {
    const path = `/store/carts/${this.result.cartId}/complete`
    for (let attempt = 1; attempt <= this.maxTries; attempt += 1) {
      let cart = await this.getCart()
      if (!cart.payment_session || cart.payment_session.provider_id !== "stripe") {
        cart = await this.selectStripe()
      }
      try {
        await this.confirmIfNeeded(cart)
      } catch (error) {
        // The intent moved on since the cart was read (e.g. replaced): read the cart again.
        this.result.confirmErrors.push(error instanceof Error ? error.message : String(error))
        await sleep(200 * attempt)
        continue
      }
      this.result.completeCalls += 1
      const res = await this.send<CompleteCartResponse>("complete", "POST", path)
      if (res?.ok && res.body.type === "order") {
        this.result.orderId = res.body.data.id
        return res.body.data.id
      }
      await sleep(200 * attempt)
    }
    throw new GaveUp(`the cart was not completed after ${this.maxTries} attempts`)
  }

  /** The whole checkout; never throws, the outcome is in `result`. */
  async checkout(regionId: string, variantId: string, country: string): Promise<ShopperResult> {
    const started = Date.now()
    try {
      await this.prepareCart(regionId, variantId, country)
      await this.selectStripe()
      await this.complete()
    } catch (error) {
      this.result.gaveUp = error instanceof Error ? error.message : String(error)
    }
    this.result.ms = Date.now() - started
    return this.result
  }
}
