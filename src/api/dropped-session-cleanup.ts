import type { Logger, MedusaNextFunction, MedusaRequest, MedusaResponse } from "@medusajs/medusa"
import type { EntityManager } from "typeorm"
import { PLUGIN_NAME } from "../constants"
import { messageOf } from "../core/errors"
import type { StripeBase } from "../core/stripe-base"

interface SessionRow {
  id: string
  provider_id: string
  data: Record<string, unknown>
}

function resolveOptional<T>(req: MedusaRequest, name: string): T | undefined {
  try {
    return req.scope.resolve<T>(name)
  } catch {
    return undefined
  }
}

/**
 * Medusa v1 deletes a cart's payment sessions straight from the database when the cart moves to
 * another region, without asking the provider, which would leave their PaymentIntents open in
 * Stripe. This notes the cart's Stripe sessions before `POST /store/carts/:id` and cancels the
 * intents of those that are gone once the update has succeeded.
 */
export function cancelIntentsOfDroppedSessions(
  req: MedusaRequest,
  res: MedusaResponse,
  next: MedusaNextFunction
): void {
  const param: unknown = req.params?.id
  const manager = resolveOptional<EntityManager>(req, "manager")
  if (typeof param !== "string" || !manager) {
    next()
    return
  }
  const cartId = param
  const logger = resolveOptional<Logger>(req, "logger")
  const warn = (error: unknown) =>
    logger?.warn(
      `${PLUGIN_NAME}: could not cancel the PaymentIntents of cart ${cartId}'s dropped sessions: ${messageOf(error)}`
    )

  manager
    .query(
      `SELECT id, provider_id, data FROM payment_session
        WHERE cart_id = $1 AND provider_id LIKE 'stripe%' AND data ? 'id'`,
      [cartId]
    )
    .then(
      (before: SessionRow[]) => {
        if (before.length > 0) {
          res.once("finish", () => {
            if (res.statusCode < 400 && mayHaveChangedRegion(req)) {
              cancelDropped(req, manager, before).catch(warn)
            }
          })
        }
        next()
      },
      (error: unknown) => {
        warn(error)
        next()
      }
    )
}

/**
 * Medusa deletes sessions behind the provider's back only when the cart moves to another
 * region. Once the route has run, its body is parsed: an update that names no region (an
 * address, an email) needs no second look at the sessions.
 */
function mayHaveChangedRegion(req: MedusaRequest): boolean {
  const body: unknown = req.body
  if (typeof body !== "object" || body === null) {
    return true
  }
  return (body as Record<string, unknown>).region_id !== undefined
}

async function cancelDropped(
  req: MedusaRequest,
  manager: EntityManager,
  before: SessionRow[]
): Promise<void> {
  const remaining: Array<{ id: string }> = await manager.query(
    `SELECT id FROM payment_session WHERE id = ANY($1)`,
    [before.map((session) => session.id)]
  )
  const kept = new Set(remaining.map((row) => row.id))
  for (const session of before.filter((entry) => !kept.has(entry.id))) {
    const processor = resolveOptional<StripeBase>(req, `pp_${session.provider_id}`)
    await processor?.deletePayment(session.data)
  }
}
