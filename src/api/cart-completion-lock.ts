import type { Logger, MedusaNextFunction, MedusaRequest, MedusaResponse } from "@medusajs/medusa"
import { cartLockName } from "../core/webhook-events"
import type StripeWebhookHandlerService from "../services/stripe-webhook-handler"
import { LockTimeoutError, type LockLease } from "../core/advisory-lock"

const HANDLER_SERVICE = "stripeWebhookHandlerService"

function resolveOptional<T>(req: MedusaRequest, name: string): T | undefined {
  try {
    return req.scope.resolve<T>(name)
  } catch {
    return undefined
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * A completion cut off after Medusa recorded the payment can only be finished under its own
 * idempotency key; the shopper's retry, which carries a new key or none, is pointed at it.
 */
async function resumeInterruptedCompletion(
  req: MedusaRequest,
  handler: StripeWebhookHandlerService,
  cartId: string
): Promise<void> {
  const key = await handler.interruptedCompletionKey(cartId)
  if (key) {
    req.headers["idempotency-key"] = key
  }
}

/**
 * Holds the cart's advisory lock for the whole of the shopper's `POST /store/carts/:id/complete`,
 * released once the response is sent or the connection closes. The webhook takes the same lock
 * before it completes a cart, so the two never complete one cart at the same time, in one
 * process or across instances.
 */
export function cartCompletionLock(
  req: MedusaRequest,
  res: MedusaResponse,
  next: MedusaNextFunction
): void {
  const param: unknown = req.params?.id
  const cartId = typeof param === "string" ? param : undefined
  const handler = resolveOptional<StripeWebhookHandlerService>(req, HANDLER_SERVICE)
  if (!cartId || !handler) {
    next()
    return
  }
  const logger = resolveOptional<Logger>(req, "logger")

  let closed = false
  let lease: LockLease | undefined
  const release = () => {
    closed = true
    const held = lease
    lease = undefined
    held?.release().catch(() => undefined)
  }
  res.once("finish", release)
  res.once("close", release)

  handler.acquireLock(cartLockName(cartId)).then(
    (acquired) => {
      if (closed) {
        // The shopper went away while waiting; the webhook completes the cart.
        acquired.release().catch(() => undefined)
        return
      }
      lease = acquired
      resumeInterruptedCompletion(req, handler, cartId).then(
        () => next(),
        (error: unknown) => {
          logger?.warn(
            `medusa-stripe-payments: could not look for an interrupted completion of cart ${cartId}: ${messageOf(error)}`
          )
          next()
        }
      )
    },
    (error: unknown) => {
      if (closed) {
        return
      }
      if (error instanceof LockTimeoutError) {
        res.status(409).json({
          type: "conflict",
          code: "cart_completion_in_progress",
          message: `Cart ${cartId} is being completed by another request; retry in a moment`,
        })
        return
      }
      // Without the lock the completion still runs: Medusa's own checks remain in place.
      logger?.error(
        `medusa-stripe-payments: could not take the completion lock of cart ${cartId}: ${messageOf(error)}`
      )
      next()
    }
  )
}
