import type { MiddlewaresConfig } from "@medusajs/medusa"
import { WEBHOOK_BODY_LIMIT, WEBHOOK_PATH } from "../core/webhook-events"
import { cartCompletionLock } from "./cart-completion-lock"
import { cancelIntentsOfDroppedSessions } from "./dropped-session-cleanup"
import { rawBody } from "./raw-body"

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
      matcher: "/store/carts/:id",
      method: ["POST"],
      middlewares: [cancelIntentsOfDroppedSessions],
    },
  ],
}
