import type { MedusaContainer, SubscriberArgs, SubscriberConfig } from "@medusajs/medusa"
import {
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RECEIVED_EVENT,
  backoffDelay,
  parseWebhookJob,
} from "../core/webhook-events"
import type StripeWebhookHandlerService from "../services/stripe-webhook-handler"

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Whether the event bus retries a failed subscriber itself. `@medusajs/event-bus-redis` does,
 * with the `attempts` and `backoff` the route emits with; `@medusajs/event-bus-local` only
 * logs the error, so the subscriber retries in process with the same schedule.
 */
function busRetries(container: MedusaContainer): boolean {
  try {
    const bus = container.resolve<object | undefined>("eventBusModuleService")
    return bus?.constructor?.name === "RedisEventBusService"
  } catch {
    return false
  }
}

function attemptOf(error: unknown): { attempt?: number; final?: boolean } {
  if (typeof error === "object" && error !== null && "final" in error && "attempt" in error) {
    const { attempt, final } = error as { attempt: unknown; final: unknown }
    return {
      attempt: typeof attempt === "number" ? attempt : undefined,
      final: typeof final === "boolean" ? final : undefined,
    }
  }
  return {}
}

/** Processes one Stripe event handed over by `POST /stripe/hooks`. */
export default async function stripeWebhookSubscriber({
  data,
  container,
}: SubscriberArgs<unknown>): Promise<void> {
  const job = parseWebhookJob(data)
  const handler = container.resolve<StripeWebhookHandlerService>("stripeWebhookHandlerService")
  const retriedByBus = busRetries(container)
  for (let run = 1; ; run += 1) {
    try {
      await handler.handle(job)
      return
    } catch (error) {
      const { attempt, final } = attemptOf(error)
      if (retriedByBus || final === true || run >= WEBHOOK_MAX_ATTEMPTS) {
        throw error
      }
      await sleep(backoffDelay(attempt ?? run))
    }
  }
}

export const config: SubscriberConfig = {
  event: WEBHOOK_RECEIVED_EVENT,
  context: { subscriberId: "medusa-stripe-payments-webhook" },
}
