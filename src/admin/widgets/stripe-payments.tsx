import type { OrderDetailsWidgetProps, WidgetConfig } from "@medusajs/admin"
import { useAdminCustomQuery } from "medusa-react"
import type { StripePaymentDetails } from "../../core/payment-details"
import { StripePaymentsCard } from "../components/stripe-payments-card"
import { errorMessage } from "../lib/format"

/** `GET /admin/stripe/orders/:id/payments` (src/api/admin/stripe/orders/[id]/payments/route.ts). */
type StripePaymentsResponse = {
  order_id: string
  payments: StripePaymentDetails[]
  /** Set when the backend talks to another API host than Stripe's (the emulator). */
  stripe_api_host?: string | null
}

/** Order page: Stripe's view of the order's payments, from `GET /admin/stripe/orders/:id/payments`. */
const StripePaymentsWidget = ({ order }: OrderDetailsWidgetProps) => {
  // A capture or refund from the order page changes these totals: the key changes and the
  // widget asks Stripe again.
  const { data, error, isLoading, isError, isFetching, refetch } = useAdminCustomQuery<
    Record<string, never>,
    StripePaymentsResponse
  >(
    `/stripe/orders/${order.id}/payments`,
    ["stripe-payments", order.id, order.payment_status, order.paid_total, order.refunded_total],
    undefined,
    { retry: 1, refetchOnWindowFocus: false }
  )

  if (isLoading) {
    return <StripePaymentsCard state="loading" />
  }
  if (isError || !data) {
    return (
      <StripePaymentsCard
        state="error"
        message={errorMessage(error)}
        retrying={isFetching}
        retry={() => {
          void refetch()
        }}
      />
    )
  }
  return (
    <StripePaymentsCard
      state="ready"
      payments={data.payments ?? []}
      apiHost={data.stripe_api_host ?? null}
    />
  )
}

export const config: WidgetConfig = {
  zone: "order.details.after",
}

export default StripePaymentsWidget
