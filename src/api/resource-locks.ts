import type { Logger, MedusaNextFunction, MedusaRequest, MedusaResponse } from "@medusajs/medusa"
import { cartLockName, paymentCollectionLockName } from "../core/webhook-events"
import type StripeWebhookHandlerService from "../services/stripe-webhook-handler"
import { LockTimeoutError, type LockLease } from "../core/advisory-lock"
import { messageOf } from "../core/errors"

const HANDLER_SERVICE = "stripeWebhookHandlerService"

type Middleware = (req: MedusaRequest, res: MedusaResponse, next: MedusaNextFunction) => void

function resolveOptional<T>(req: MedusaRequest, name: string): T | undefined {
  try {
    return req.scope.resolve<T>(name)
  } catch {
    return undefined
  }
}

interface ResourceLock {
  /** What the lock guards, for the log (e.g. "the completion lock of cart"). */
  what: string
  lockName(id: string): string
  /** The 409 answer when another request or an event holds the lock for too long. */
  conflict(id: string): { code: string; message: string }
  /** Runs once the lock is held, before the route. */
  prepare?(req: MedusaRequest, handler: StripeWebhookHandlerService, id: string): Promise<void>
}

/**
 * Holds the advisory lock of the resource named by the route's `:id` for the whole request,
 * released once the response is sent or the connection closes. The webhook takes the same lock
 * before it acts on that resource, so the two never act on it at the same time, in one process
 * or across instances.
 */
function holdResourceLock(lock: ResourceLock): Middleware {
  return (req, res, next) => {
    const param: unknown = req.params?.id
    const id = typeof param === "string" ? param : undefined
    const handler = resolveOptional<StripeWebhookHandlerService>(req, HANDLER_SERVICE)
    if (!id || !handler) {
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

    handler.acquireLock(lock.lockName(id)).then(
      (acquired) => {
        if (closed) {
          // The client went away while waiting; the webhook finishes the work.
          acquired.release().catch(() => undefined)
          return
        }
        lease = acquired
        if (!lock.prepare) {
          next()
          return
        }
        lock.prepare(req, handler, id).then(
          () => next(),
          (error: unknown) => {
            logger?.warn(`medusa-stripe-payments: ${lock.what} ${id}: ${messageOf(error)}`)
            next()
          }
        )
      },
      (error: unknown) => {
        if (closed) {
          return
        }
        if (error instanceof LockTimeoutError) {
          res.status(409).json({ type: "conflict", ...lock.conflict(id) })
          return
        }
        // Without the lock the request still runs: Medusa's own checks remain in place.
        logger?.error(
          `medusa-stripe-payments: could not take ${lock.what} ${id}: ${messageOf(error)}`
        )
        next()
      }
    )
  }
}

/** Around the shopper's `POST /store/carts/:id/complete`. */
export const cartCompletionLock: Middleware = holdResourceLock({
  what: "the completion lock of cart",
  lockName: cartLockName,
  conflict: (cartId) => ({
    code: "cart_completion_in_progress",
    message: `Cart ${cartId} is being completed by another request; retry in a moment`,
  }),
  // A completion cut off after Medusa recorded the payment can only be finished under its own
  // idempotency key; the shopper's retry, which carries a new key or none, is pointed at it.
  async prepare(req, handler, cartId) {
    const key = await handler.interruptedCompletionKey(cartId)
    if (key) {
      req.headers["idempotency-key"] = key
    }
  },
})

/**
 * Around the storefront's authorization of a payment collection's sessions. Medusa reads the
 * collection and then creates a Payment per authorized session, so two authorizations at the
 * same time (a double click, or the shopper and the webhook) would each create one.
 */
export const paymentCollectionAuthorizationLock: Middleware = holdResourceLock({
  what: "the authorization lock of payment collection",
  lockName: paymentCollectionLockName,
  conflict: (collectionId) => ({
    code: "payment_collection_authorization_in_progress",
    message: `Payment collection ${collectionId} is being authorized by another request; retry in a moment`,
  }),
})
