import type { MedusaRequest, MedusaResponse, OrderService } from "@medusajs/medusa"
import { PROVIDER_IDS } from "../../../../../../constants"
import { toPaymentDetails } from "../../../../../../core/payment-details"
import type { StripeBase } from "../../../../../../core/stripe-base"
import { parseSessionData } from "../../../../../../core/session-data"

const STRIPE_PROVIDERS = new Set<string>(Object.values(PROVIDER_IDS))

interface PaymentLike {
  id: string
  provider_id: string
  data: Record<string, unknown>
}

/**
 * `GET /admin/stripe/orders/:id/payments`: what Stripe knows about each Stripe payment of an
 * order and of its swaps. Medusa authenticates every `/admin` route, so only admins get here.
 */
export const GET = async (req: MedusaRequest, res: MedusaResponse): Promise<void> => {
  const orderService = req.scope.resolve<OrderService>("orderService")
  const orderId = String(req.params.id)
  const order = await orderService.retrieve(orderId, {
    relations: ["payments", "swaps", "swaps.payment"],
  })
  const payments: PaymentLike[] = [
    ...(order.payments ?? []),
    ...(order.swaps ?? []).flatMap((swap) => (swap.payment ? [swap.payment] : [])),
  ].filter((payment) => STRIPE_PROVIDERS.has(payment.provider_id))

  const details = await Promise.all(
    payments.map(async (payment) => {
      const processor = req.scope.resolve<StripeBase>(`pp_${payment.provider_id}`)
      const { id } = parseSessionData(payment.data)
      const [intent, refunds, disputes] = await Promise.all([
        processor.stripe.paymentIntents.retrieve(id, { expand: ["latest_charge"] }),
        processor.stripe.refunds.list({ payment_intent: id, limit: 100 }),
        processor.stripe.disputes.list({ payment_intent: id, limit: 100 }),
      ])
      return toPaymentDetails({
        paymentId: payment.id,
        providerId: payment.provider_id,
        intent,
        refunds: refunds.data,
        disputes: disputes.data,
        livemode: processor.livemode,
      })
    })
  )
  res.json({ order_id: order.id, payments: details })
}
