import type { MedusaRequest, MedusaResponse, OrderService } from "@medusajs/medusa"
import { PROVIDER_IDS } from "../../../../../../constants"
import { isStripeError } from "../../../../../../core/errors"
import { toPaymentDetails, type StripePaymentDetails } from "../../../../../../core/payment-details"
import type { StripeBase } from "../../../../../../core/stripe-base"
import { parseSessionData } from "../../../../../../core/session-data"
import { STRIPE_API_HOST_KEY } from "../../../../../../loaders/stripe-api-host"

const STRIPE_PROVIDERS = new Set<string>(Object.values(PROVIDER_IDS))

interface PaymentLike {
  id: string
  provider_id: string
  data: Record<string, unknown>
}

/** What the route answers; the admin widget reads it. */
export interface StripeOrderPaymentsResponse {
  order_id: string
  payments: StripePaymentDetails[]
  /**
   * The API host the plugin talks to instead of Stripe (the bundled emulator), or null. Its
   * payments are not in Stripe's dashboard, so the widget links there only when this is null.
   */
  stripe_api_host: string | null
}

/** The answer when Stripe does not know a payment's intent. */
export interface MissingPaymentIntentResponse {
  type: "not_found"
  code: "payment_intent_missing"
  payment_intent_id: string
  message: string
}

/** An intent the configured Stripe account does not have (any more). */
class MissingPaymentIntent extends Error {
  constructor(
    readonly intentId: string,
    apiHost: string | null
  ) {
    super(
      apiHost
        ? `PaymentIntent ${intentId} no longer exists at the Stripe API ${apiHost} (the emulator was reset or its state file deleted, or the keys were switched)`
        : `PaymentIntent ${intentId} no longer exists in this Stripe account (test/live keys switched, or another account's key)`
    )
  }
}

function apiHostOf(req: MedusaRequest): string | null {
  return req.scope.hasRegistration(STRIPE_API_HOST_KEY)
    ? req.scope.resolve<string | null>(STRIPE_API_HOST_KEY)
    : null
}

/**
 * `GET /admin/stripe/orders/:id/payments`: what Stripe knows about each Stripe payment of an
 * order and of its swaps. Medusa authenticates every `/admin` route, so only admins get here.
 * An intent Stripe does not have answers 404 with a message naming it.
 */
export const GET = async (req: MedusaRequest, res: MedusaResponse): Promise<void> => {
  const orderService = req.scope.resolve<OrderService>("orderService")
  const apiHost = apiHostOf(req)
  const orderId = String(req.params.id)
  const order = await orderService.retrieve(orderId, {
    relations: ["payments", "swaps", "swaps.payment"],
  })
  const payments: PaymentLike[] = [
    ...(order.payments ?? []),
    ...(order.swaps ?? []).flatMap((swap) => (swap.payment ? [swap.payment] : [])),
  ].filter((payment) => STRIPE_PROVIDERS.has(payment.provider_id))

  let details: StripePaymentDetails[]
  try {
    details = await Promise.all(
      payments.map(async (payment) => {
        const processor = req.scope.resolve<StripeBase>(`pp_${payment.provider_id}`)
        const { id } = parseSessionData(payment.data)
        const [intent, refunds, disputes] = await Promise.all([
          processor.stripe.paymentIntents.retrieve(id, { expand: ["latest_charge"] }),
          processor.stripe.refunds.list({ payment_intent: id, limit: 100 }),
          processor.stripe.disputes.list({ payment_intent: id, limit: 100 }),
        ]).catch((error: unknown) => {
          if (isStripeError(error) && error.code === "resource_missing") {
            throw new MissingPaymentIntent(id, apiHost)
          }
          throw error
        })
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
  } catch (error: unknown) {
    if (error instanceof MissingPaymentIntent) {
      const body: MissingPaymentIntentResponse = {
        type: "not_found",
        code: "payment_intent_missing",
        payment_intent_id: error.intentId,
        message: error.message,
      }
      res.status(404).json(body)
      return
    }
    throw error
  }
  const body: StripeOrderPaymentsResponse = {
    order_id: order.id,
    payments: details,
    stripe_api_host: apiHost,
  }
  res.json(body)
}
