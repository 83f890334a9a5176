import type { ConfigModule, Logger, MedusaContainer } from "@medusajs/medusa"
import { HANDLED_EVENT_TYPES, WEBHOOK_PATH } from "../core/webhook-events"
import { parseOptions } from "../options"
import type StripeWebhookHandlerService from "../services/stripe-webhook-handler"
import { messageOf } from "../core/errors"

/**
 * At start-up: says which events the Stripe webhook endpoint must send, or, when no
 * `webhook_secret` is configured, that the webhook route refuses every event. The backend
 * still starts in that case: checkouts then rely on the shopper's browser alone.
 */
export default async function stripeWebhooksLoader(
  container: MedusaContainer,
  pluginOptions?: Record<string, unknown>
): Promise<void> {
  const logger = container.resolve<Logger>("logger")
  let options: ReturnType<typeof parseOptions>
  try {
    options = parseOptions(pluginOptions)
  } catch (error) {
    logger.error(messageOf(error))
    return
  }
  const secret = options.webhookSecret
  if (!secret) {
    logger.error(
      `medusa-stripe-payments: option "webhook_secret" is not set: POST ${WEBHOOK_PATH} answers 503 to every Stripe event, and a payment whose shopper never returns to the store produces no order. Set webhook_secret (or STRIPE_WEBHOOK_SECRET) to the signing secret (whsec_...) of a Stripe webhook endpoint for ${WEBHOOK_PATH} that sends: ${HANDLED_EVENT_TYPES.join(", ")}`
    )
    return
  }
  logger.info(
    `medusa-stripe-payments: Stripe webhooks are received at POST ${WEBHOOK_PATH}; the Stripe endpoint must send these events: ${HANDLED_EVENT_TYPES.join(", ")}`
  )

  const configModule = container.resolve<ConfigModule>("configModule")
  if (!configModule?.projectConfig?.database_url) {
    return
  }
  try {
    const manager = container.resolve<{ query(sql: string): Promise<unknown> }>("manager")
    const rows = (await manager.query(
      "SELECT to_regclass('stripe_webhook_event') IS NOT NULL AS present"
    )) as { present: boolean }[]
    if (rows[0]?.present !== true) {
      logger.error(
        "medusa-stripe-payments: table stripe_webhook_event is missing; run `medusa migrations run` so that webhooks can be recorded"
      )
    }
  } catch (error) {
    logger.warn(
      `medusa-stripe-payments: could not check for table stripe_webhook_event: ${messageOf(error)}`
    )
  }

  // A backend started with worker_mode "server" leaves background work to its workers.
  if (options.webhookRetryIntervalMs > 0 && configModule.projectConfig.worker_mode !== "server") {
    startRetrySweep(container, options.webhookRetryIntervalMs, logger)
  }
}

function startRetrySweep(container: MedusaContainer, intervalMs: number, logger: Logger): void {
  const handler = container.resolve<StripeWebhookHandlerService>("stripeWebhookHandlerService")
  let running = false
  const timer = setInterval(() => {
    if (running) {
      return
    }
    running = true
    handler
      .sweepStalledEvents(intervalMs)
      .catch((error: unknown) =>
        logger.warn(
          `medusa-stripe-payments: the retry sweep of Stripe events failed: ${messageOf(error)}`
        )
      )
      .then(() => handler.sweepReconciliation())
      .catch((error: unknown) =>
        logger.warn(`medusa-stripe-payments: the reconciliation sweep failed: ${messageOf(error)}`)
      )
      .finally(() => {
        running = false
      })
  }, intervalMs)
  // The sweep never keeps a process alive (CLI commands load plugins too).
  timer.unref()
}
