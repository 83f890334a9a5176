import type { MedusaRequest, MedusaResponse, OrderService } from "@medusajs/medusa"
import { PROVIDER_IDS } from "../../../../../../constants"
import { parseSessionData } from "../../../../../../core/session-data"
import { paymentIntentLockName } from "../../../../../../core/webhook-events"
import type { ReconcileReport } from "../../../../../../reconcile/reconciler"
import type StripeWebhookHandlerService from "../../../../../../services/stripe-webhook-handler"

const STRIPE_PROVIDERS = new Set<string>(Object.values(PROVIDER_IDS))

/** What the route answers; the admin widget shows it. */
export interface StripeOrderReconcileResponse {
  order_id: string
  reports: ReconcileReport[]
}

/**
 * `POST /admin/stripe/orders/:id/reconcile`: makes Medusa's books about each Stripe payment of
 * the order (and of its swaps) match what Stripe holds now, and says what it found and fixed.
 * Each intent is reconciled under the lock its webhooks take.
 */
export const POST = async (req: MedusaRequest, res: MedusaResponse): Promise<void> => {
  const order = await req.scope
    .resolve<OrderService>("orderService")
    .retrieve(String(req.params.id), { relations: ["payments", "swaps", "swaps.payment"] })
  const intents = [
    ...(order.payments ?? []),
    ...(order.swaps ?? []).flatMap((swap) => (swap.payment ? [swap.payment] : [])),
  ]
    .filter((payment) => STRIPE_PROVIDERS.has(payment.provider_id))
    .map((payment) => parseSessionData(payment.data).id)
  const handler = req.scope.resolve<StripeWebhookHandlerService>("stripeWebhookHandlerService")
  const reports: ReconcileReport[] = []
  for (const intentId of new Set(intents)) {
    reports.push(
      await handler.withLock(paymentIntentLockName(intentId), () =>
        handler.reconciler().call(intentId)
      )
    )
  }
  const body: StripeOrderReconcileResponse = { order_id: order.id, reports }
  res.json(body)
}
