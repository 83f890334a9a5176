import type { OrderDetailsWidgetProps, WidgetConfig } from "@medusajs/admin"
import { useState } from "react"
import { useAdminCustomPost, useAdminCustomQuery } from "medusa-react"
import type { StripePaymentDetails } from "../../core/payment-details"
import { StripePaymentsCard, type ReconciliationState } from "../components/stripe-payments-card"
import { errorMessage } from "../lib/format"

/** `GET /admin/stripe/orders/:id/payments` (src/api/admin/stripe/orders/[id]/payments/route.ts). */
type StripePaymentsResponse = {
  order_id: string
  payments: StripePaymentDetails[]
  /** Set when the backend talks to another API host than Stripe's (the emulator). */
  stripe_api_host?: string | null
}

/** `POST /admin/stripe/orders/:id/reconcile` (src/api/admin/stripe/orders/[id]/reconcile/route.ts). */
type ReconcileResponse = {
  order_id: string
  reports: { fixed: string[]; flagged: string[]; waiting: string[] }[]
}

function issuesOf(metadata: Record<string, unknown> | null | undefined): string[] {
  const note = metadata?.stripe_reconciliation as { issues?: unknown } | undefined
  return Array.isArray(note?.issues) ? note.issues.map(String) : []
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

  const reconcile = useAdminCustomPost<Record<string, never>, ReconcileResponse>(
    `/stripe/orders/${order.id}/reconcile`,
    ["stripe-reconcile", order.id],
    { order: true }
  )
  const [result, setResult] = useState<ReconciliationState["result"]>()
  const reconciliation: ReconciliationState = {
    issues: issuesOf(order.metadata),
    reconciling: reconcile.isLoading,
    result,
    reconcile: () =>
      reconcile.mutate(
        {},
        {
          onSuccess: (answer) => {
            const reports = answer.reports ?? []
            setResult({
              fixed: reports.flatMap((report) => report.fixed),
              flagged: reports.flatMap((report) => report.flagged),
              waiting: reports.flatMap((report) => report.waiting),
            })
            void refetch()
          },
          onError: (failure) => setResult({ error: errorMessage(failure) }),
        }
      ),
  }

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
      reconciliation={reconciliation}
    />
  )
}

export const config: WidgetConfig = {
  zone: "order.details.after",
}

export default StripePaymentsWidget
