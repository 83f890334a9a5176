import type {
  CartService,
  Logger,
  MedusaNextFunction,
  MedusaRequest,
  MedusaResponse,
} from "@medusajs/medusa"
import {
  cartLockName,
  paymentCollectionLockName,
  paymentIntentLockName,
} from "../core/webhook-events"
import type { MoneyRouteOwner } from "../core/payment-bookings"
import type StripeWebhookHandlerService from "../services/stripe-webhook-handler"
import { LockTimeoutError, type LockLease } from "../core/advisory-lock"
import { messageOf } from "../core/errors"
import {
  readCartTotal,
  withCartTotal,
  type CartTotal,
  type CartTotalsReader,
} from "../core/cart-totals"
import { completionStart, withGatePass } from "../core/completion-gate"

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
  /**
   * The names of the locks the request holds, taken in one fixed order; none (an order without
   * Stripe payments) runs the route without a lock.
   */
  lockNames(id: string, handler: StripeWebhookHandlerService): string[] | Promise<string[]>
  /** The 409 answer when another request or an event holds the lock for too long. */
  conflict(id: string): { code: string; message: string }
  /**
   * Runs once the lock is held, before the route; an answer it returns is sent instead of
   * running the route.
   */
  prepare?(
    req: MedusaRequest,
    lease: LockLease,
    handler: StripeWebhookHandlerService,
    id: string
  ): Promise<Prepared>
}

/** A request refused before it changes anything. */
interface Refusal {
  refuse: { status: number; body: { type: string; code: string; message: string } }
}

/**
 * Runs the route inside `around` (for example with values it reads from async context), and
 * `end` once the response is sent or the connection closes.
 */
interface Around {
  around(next: () => void): void
  end?(): void
}

type Prepared = Refusal | Around | void

/**
 * Holds the advisory locks of the resource named by the route's `:id` for the whole request,
 * released once the response is sent or the connection closes. The webhook takes the same locks
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
    let end: (() => void) | undefined
    const release = () => {
      closed = true
      end?.()
      end = undefined
      const held = lease
      lease = undefined
      held?.release().catch(() => undefined)
    }
    res.once("finish", release)
    res.once("close", release)

    const acquire = async (): Promise<LockLease | undefined> => {
      const names = await lock.lockNames(id, handler)
      return names.length > 0 ? handler.acquireLocks(names) : undefined
    }
    acquire().then(
      (acquired) => {
        if (closed) {
          // The client went away while waiting; the webhook finishes the work.
          acquired?.release().catch(() => undefined)
          return
        }
        if (!acquired) {
          next()
          return
        }
        lease = acquired
        if (!lock.prepare) {
          next()
          return
        }
        lock.prepare(req, acquired, handler, id).then(
          (prepared) => {
            if (closed) {
              // The client went away meanwhile and the lock is released: run nothing unguarded.
              if (prepared && "around" in prepared) prepared.end?.()
              return
            }
            if (prepared && "refuse" in prepared) {
              res.status(prepared.refuse.status).json(prepared.refuse.body)
              return
            }
            if (prepared && "around" in prepared) {
              end = prepared.end
              prepared.around(() => next())
              return
            }
            next()
          },
          (error: unknown) => {
            if (closed) return
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
        // The lock's pool could not give a connection in time (a database outage, or more
        // requests than connections): refuse rather than run the request unguarded.
        logger?.error(
          `medusa-stripe-payments: could not take ${lock.what} ${id}: ${messageOf(error)}`
        )
        res.setHeader("Retry-After", "2")
        res.status(503).json({
          type: "unexpected_state",
          code: "lock_unavailable",
          message: `Could not take ${lock.what} ${id} (${messageOf(error)}); retry in a moment`,
        })
      }
    )
  }
}

/** Around the shopper's `POST /store/carts/:id/complete`. */
export const cartCompletionLock: Middleware = holdResourceLock({
  what: "the completion lock of cart",
  lockNames: (cartId) => [cartLockName(cartId)],
  conflict: (cartId) => ({
    code: "cart_completion_in_progress",
    message: `Cart ${cartId} is being completed by another request; retry in a moment`,
  }),
  // A completion cut off after Medusa recorded the payment can only be finished under its own
  // idempotency key; the shopper's retry, which carries a new key or none, is pointed at it.
  // The work up to the Stripe call starts a few completions at a time (see completion-gate).
  async prepare(req, _lease, handler, cartId) {
    const pass = await completionStart.enter()
    let total: CartTotal | undefined
    try {
      const key = await handler.interruptedCompletionKey(cartId)
      if (key) {
        req.headers["idempotency-key"] = key
      }
      // Read before Medusa opens the completion's transaction, under the lock (see cart-totals).
      const carts = resolveOptional<CartTotalsReader>(req, "cartService")
      total = carts ? await readCartTotal(carts, cartId).catch(() => undefined) : undefined
    } catch (error) {
      pass.leave()
      throw error
    }
    return {
      around: (next) => withCartTotal(total, () => withGatePass(pass, next)),
      end: () => pass.leave(),
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
  lockNames: (collectionId) => [paymentCollectionLockName(collectionId)],
  conflict: (collectionId) => ({
    code: "payment_collection_authorization_in_progress",
    message: `Payment collection ${collectionId} is being authorized by another request; retry in a moment`,
  }),
})

/**
 * Around every Store API route that can change a cart's payment (its total, its sessions, the
 * selected provider): the completion's own lock, so none of them runs while the shopper or a
 * webhook completes the cart, in any backend instance; and a refusal once the cart is completed.
 * Medusa 1.20 shares a completed cart's line items and sessions with its order, and the order's
 * payment then moves only through the order (capture, refund, cancel in the admin): changing
 * the cart's items, or deleting, refreshing or switching its session, must neither change what
 * the order says was paid nor cancel or refund its payment.
 */
export const cartPaymentLock: Middleware = holdResourceLock({
  what: "the lock of cart",
  lockNames: (cartId) => [cartLockName(cartId)],
  conflict: (cartId) => ({
    code: "cart_completion_in_progress",
    message: `Cart ${cartId} is being completed; retry in a moment`,
  }),
  async prepare(req, lease, handler, cartId) {
    const { rows } = await lease.client.query<{ completed: boolean; tax_lines: boolean }>(
      `SELECT c.completed_at IS NOT NULL AS completed,
              c.type = 'default' AND (
                EXISTS (SELECT 1 FROM line_item_tax_line t JOIN line_item i ON i.id = t.item_id
                        WHERE i.cart_id = c.id)
                OR EXISTS (SELECT 1 FROM shipping_method_tax_line t
                           JOIN shipping_method m ON m.id = t.shipping_method_id
                           WHERE m.cart_id = c.id)) AS tax_lines
       FROM cart c WHERE c.id = $1`,
      [cartId]
    )
    const cart = rows[0]
    if (cart?.completed) {
      return refusal(
        "cart_completed",
        `Cart ${cartId} is completed: its items and payment sessions can no longer change. The order's payment is captured, refunded or canceled through the order`
      )
    }
    if (cart?.tax_lines) {
      return clearTaxLines(req, lease, handler, cartId)
    }
    return undefined
  },
})

function refusal(code: string, message: string): Refusal {
  return { refuse: { status: 409, body: { type: "not_allowed", code, message } } }
}

/**
 * A completion stores the cart's tax lines (recovery point `tax_lines_created`) and deletes them
 * again when it stops short of an order; one cut off in between (a crash, a killed process)
 * leaves them behind, and Medusa 1.20 then fails every change that replaces the cart's shipping
 * methods with a foreign key error (404 "null"). The caller holds the lock every completion
 * takes, so those are removed before the change, as the completion would have; a retried
 * completion creates them again. Tax lines stored for any other reason are left alone. A
 * cut-off completion that already recorded the payment must finish instead: the cart's total
 * is what that payment covers.
 */
async function clearTaxLines(
  req: MedusaRequest,
  lease: LockLease,
  handler: StripeWebhookHandlerService,
  cartId: string
): Promise<Refusal | undefined> {
  if (await handler.interruptedCompletionKey(cartId)) {
    return refusal(
      "cart_completion_interrupted",
      `A completion of cart ${cartId} was cut off after its payment was recorded: complete the cart again (POST /store/carts/${cartId}/complete) to place the order`
    )
  }
  const { rows } = await lease.client.query(
    `SELECT 1 FROM idempotency_key
     WHERE request_params ->> 'id' = $1 AND recovery_point = 'tax_lines_created'
     LIMIT 1`,
    [cartId]
  )
  if (rows.length === 0) {
    return undefined
  }
  // What Medusa's completion calls when it stops short: both kinds in one transaction.
  await req.scope.resolve<CartService>("cartService").deleteTaxLines(cartId)
  resolveOptional<Logger>(req, "logger")?.info(
    `medusa-stripe-payments: cart ${cartId}: removed the tax lines a cut-off completion left behind`
  )
  return undefined
}

/**
 * Around the admin routes that capture, refund or cancel a Stripe payment: the lock of every
 * PaymentIntent the route may move money on, the lock the webhook's reconciliation of that
 * intent takes too, held until Medusa's transaction has committed and the answer is sent.
 *
 * A refund first adopts a refund the plugin made that the payment's data does not hold (a
 * success whose answer Medusa lost). Without the lock, a second refund of the same amount
 * running while the first one's transaction is still open adopts the first one's Stripe refund,
 * and Medusa books one Stripe refund twice; a reconciliation running then books it a second
 * time too. Taken in sorted order, and never together with a cart's lock, so two routes on one
 * order, or a route and a webhook, cannot wait for each other.
 */
export function paymentMoneyLock(owner: MoneyRouteOwner): Middleware {
  return holdResourceLock({
    what: `the payment locks of ${owner}`,
    lockNames: async (id, handler) =>
      (await handler.paymentIntentsOf(owner, id)).map(paymentIntentLockName),
    conflict: (id) => ({
      code: "payment_operation_in_progress",
      message: `A payment of ${owner} ${id} is being captured, refunded, canceled or reconciled by another request; retry in a moment`,
    }),
  })
}
