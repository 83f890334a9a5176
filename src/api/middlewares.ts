import type { MiddlewaresConfig } from "@medusajs/medusa"
import { WEBHOOK_BODY_LIMIT, WEBHOOK_PATH } from "../core/webhook-events"
import { cancelIntentsOfDroppedSessions } from "./dropped-session-cleanup"
import { rawBody } from "./raw-body"
import { cartCompletionLock, paymentCollectionAuthorizationLock } from "./resource-locks"

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
      middlewares: [cancelIntentsOfDroppedSessions],
    },
  ],
}
