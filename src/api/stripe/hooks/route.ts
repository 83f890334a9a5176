import type { Logger, MedusaRequest, MedusaResponse } from "@medusajs/medusa"
import { planWebhookEvent } from "../../../core/webhook-events"
import type StripeWebhookHandlerService from "../../../services/stripe-webhook-handler"
import { MISSING_SECRET_MESSAGE } from "../../../services/stripe-webhook-handler"
import { messageOf } from "../../../core/errors"

/** The three acknowledgements, serialised once. */
const ACK = {
  received: JSON.stringify({ received: true }),
  ignored: JSON.stringify({ received: true, ignored: true }),
  duplicate: JSON.stringify({ received: true, duplicate: true }),
}

/** Answers 200 with a fixed body, without Express' serialisation and ETag work. */
function acknowledge(res: MedusaResponse, body: string): void {
  res.statusCode = 200
  res.setHeader("Content-Type", "application/json; charset=utf-8")
  res.setHeader("Content-Length", Buffer.byteLength(body))
  res.end(body)
}

/**
 * `POST /stripe/hooks`: verifies the signature, records the event once and hands it to
 * Medusa's event bus. Nothing is completed, captured or refunded here; the answer goes back
 * to Stripe as soon as the event is safely stored.
 */
export const POST = async (req: MedusaRequest, res: MedusaResponse): Promise<void> => {
  // Stripe keeps no cookies: no session is stored for a delivery, and the answer is written
  // at once instead of after a session save.
  req.session = undefined

  const handler = req.scope.resolve<StripeWebhookHandlerService>("stripeWebhookHandlerService")
  const logger = req.scope.resolve<Logger>("logger")

  let secret: string | undefined
  try {
    secret = handler.webhookSecret
  } catch (error) {
    logger.error(`medusa-stripe-payments: webhook refused, ${messageOf(error)}`)
    res.status(500).json({ message: messageOf(error) })
    return
  }
  if (!secret) {
    res.status(503).json({ message: MISSING_SECRET_MESSAGE })
    return
  }

  const raw: unknown = req.rawBody
  if (!Buffer.isBuffer(raw)) {
    res
      .status(400)
      .json({ message: "The raw request body is not available to check its signature" })
    return
  }

  let event
  try {
    event = handler.constructEvent(raw, req.headers["stripe-signature"])
  } catch (error) {
    res.status(400).json({ message: `Webhook signature verification failed: ${messageOf(error)}` })
    return
  }

  handler.noteApiVersion(event)
  const plan = planWebhookEvent(event)
  const received = await handler.recordReceived(event, plan)
  if (plan.action === "ignore") {
    acknowledge(res, ACK.ignored)
    return
  }
  if (received.status === "processed" || received.status === "ignored") {
    acknowledge(res, ACK.duplicate)
    return
  }
  await handler.enqueue(event, received.attempts)
  acknowledge(res, ACK.received)
}
