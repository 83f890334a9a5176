import { authenticate, type MiddlewaresConfig } from "@medusajs/medusa"
import type { MoneyRouteOwner } from "../core/payment-bookings"
import { WEBHOOK_BODY_LIMIT, WEBHOOK_PATH } from "../core/webhook-events"
import { cancelIntentsOfDroppedSessions } from "./dropped-session-cleanup"
import { rawBody } from "./raw-body"
import {
  cartCompletionLock,
  cartPaymentLock,
  paymentCollectionAuthorizationLock,
  paymentMoneyLock,
} from "./resource-locks"

/** Store routes that change what a cart costs, each taking the cart's lock; refused once completed. */
const CART_TOTAL_ROUTES: Array<{ matcher: string; method: "POST" | "DELETE" }> = [
  { matcher: "/store/carts/:id/line-items", method: "POST" },
  { matcher: "/store/carts/:id/line-items/:line_id", method: "POST" },
  { matcher: "/store/carts/:id/line-items/:line_id", method: "DELETE" },
  { matcher: "/store/carts/:id/discounts/:code", method: "DELETE" },
  { matcher: "/store/carts/:id/shipping-methods", method: "POST" },
  { matcher: "/store/carts/:id/taxes", method: "POST" },
]

/** Store routes of a cart's payment sessions, refused once the cart is completed. */
const CART_SESSION_ROUTES: Array<{ matcher: string; method: "POST" | "DELETE" }> = [
  { matcher: "/store/carts/:id/payment-sessions", method: "POST" },
  { matcher: "/store/carts/:id/payment-session", method: "POST" },
  { matcher: "/store/carts/:id/payment-sessions/:provider_id", method: "POST" },
  { matcher: "/store/carts/:id/payment-sessions/:provider_id", method: "DELETE" },
  { matcher: "/store/carts/:id/payment-sessions/:provider_id/refresh", method: "POST" },
]

/**
 * Admin routes that capture, refund or cancel a Stripe payment, by what their `:id` names. Each
 * holds the locks of the payments' intents until its transaction has committed.
 */
const PAYMENT_MONEY_ROUTES: Array<{ matcher: string; owner: MoneyRouteOwner }> = [
  { matcher: "/admin/orders/:id/refund", owner: "order" },
  { matcher: "/admin/orders/:id/capture", owner: "order" },
  { matcher: "/admin/orders/:id/cancel", owner: "order" },
  { matcher: "/admin/orders/:id/return", owner: "order" },
  { matcher: "/admin/orders/:id/claims", owner: "order" },
  { matcher: "/admin/orders/:id/swaps/:swap_id/process-payment", owner: "order" },
  { matcher: "/admin/orders/:id/swaps/:swap_id/cancel", owner: "order" },
  { matcher: "/admin/returns/:id/receive", owner: "return" },
  { matcher: "/admin/payments/:id/refund", owner: "payment" },
  { matcher: "/admin/payments/:id/capture", owner: "payment" },
]

export const config: MiddlewaresConfig = {
  routes: [
    {
      // Signatures cover the exact bytes Stripe sent: no JSON parser on this route.
      matcher: WEBHOOK_PATH,
      method: ["POST"],
      bodyParser: false,
      middlewares: [rawBody({ limit: WEBHOOK_BODY_LIMIT })],
    },
    {
      matcher: "/store/carts/:id/complete",
      method: ["POST"],
      middlewares: [cartCompletionLock],
    },
    {
      // The older alias of the same store route.
      matcher: "/store/carts/:id/complete-cart",
      method: ["POST"],
      middlewares: [cartCompletionLock],
    },
    {
      // Matches both `/sessions/:session_id/authorize` and `/sessions/batch/authorize`; one
      // entry only, as a second would wait for the lock the first holds.
      matcher: "/store/payment-collections/:id/sessions/:session_id/authorize",
      method: ["POST"],
      middlewares: [paymentCollectionAuthorizationLock],
    },
    {
      matcher: "/store/carts/:id",
      method: ["POST"],
      middlewares: [cartPaymentLock, cancelIntentsOfDroppedSessions],
    },
    ...CART_TOTAL_ROUTES.map(({ matcher, method }) => ({
      matcher,
      method: [method],
      middlewares: [cartPaymentLock],
    })),
    ...PAYMENT_MONEY_ROUTES.map(({ matcher, owner }) => ({
      matcher,
      method: ["POST" as const],
      // A plugin's middlewares run before Medusa's admin routes authenticate: authenticate
      // first, so that a request without an admin never waits for, or holds, a payment's lock.
      middlewares: [authenticate(), paymentMoneyLock(owner)],
    })),
    ...CART_SESSION_ROUTES.map(({ matcher, method }) => ({
      matcher,
      method: [method],
      middlewares: [cartPaymentLock],
    })),
  ],
}
