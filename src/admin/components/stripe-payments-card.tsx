import { Alert, Badge, Button, Container, Copy, Heading, Text } from "@medusajs/ui"
import type { ReactNode } from "react"
import type { StripePaymentDetails } from "../../core/payment-details"
import {
  disputeColor,
  formatMoney,
  humanize,
  intentStatus,
  isOpenDispute,
  isTestMode,
  paymentMethodLabel,
  refundColor,
  riskBadge,
  threeDSecure,
} from "../lib/format"

export type StripePaymentsState =
  | { state: "loading" }
  | { state: "error"; message: string; retry?: () => void; retrying?: boolean }
  | {
      state: "ready"
      payments: StripePaymentDetails[]
      /** The API host the backend uses instead of Stripe (the emulator): no dashboard links. */
      apiHost?: string | null
      reconciliation?: ReconciliationState
    }

/** What reconciling the order with Stripe found, and what still needs a person. */
export interface ReconciliationState {
  /** Differences flagged on the order (`metadata.stripe_reconciliation.issues`). */
  issues: string[]
  reconcile?: () => void
  reconciling?: boolean
  /** The answer of the last reconciliation started from this page. */
  result?: { fixed: string[]; flagged: string[]; waiting: string[] } | { error: string }
}

/** The Stripe section of the order page: one block per Stripe payment of the order. */
export const StripePaymentsCard = (props: StripePaymentsState) => {
  const count = props.state === "ready" ? props.payments.length : 0
  return (
    <Container
      className="flex flex-col gap-y-4 px-8 py-6"
      data-testid="stripe-payments-widget"
      data-state={props.state === "ready" && count === 0 ? "empty" : props.state}
    >
      <div className="flex items-center justify-between">
        <div className="flex flex-col">
          <Heading level="h1">Stripe</Heading>
          <Text size="small" className="text-ui-fg-subtle">
            What Stripe knows about the payments of this order
          </Text>
        </div>
        {count > 1 && <Badge color="grey">{count} payments</Badge>}
      </div>
      <StripePaymentsBody {...props} />
    </Container>
  )
}

const StripePaymentsBody = (props: StripePaymentsState) => {
  if (props.state === "loading") {
    return <LoadingSkeleton />
  }
  if (props.state === "error") {
    return (
      <Alert variant="error" data-testid="stripe-payments-error">
        <div className="flex flex-col gap-y-2">
          <Text size="small" weight="plus">
            Could not load the Stripe payments of this order
          </Text>
          <Text size="small">{props.message}</Text>
          {props.retry && (
            <div>
              <Button
                size="small"
                variant="secondary"
                onClick={props.retry}
                isLoading={props.retrying}
              >
                Try again
              </Button>
            </div>
          )}
        </div>
      </Alert>
    )
  }
  if (props.payments.length === 0) {
    return (
      <div
        className="bg-ui-bg-subtle flex flex-col items-center gap-y-1 rounded-lg px-6 py-8 text-center"
        data-testid="stripe-payments-empty"
      >
        <Text size="small" weight="plus">
          No Stripe payment on this order
        </Text>
        <Text size="small" className="text-ui-fg-subtle">
          It was paid with another payment provider, or not paid yet.
        </Text>
      </div>
    )
  }
  return (
    <div className="flex flex-col gap-y-4">
      {props.payments.map((payment) => (
        <PaymentBlock key={payment.payment_id} payment={payment} apiHost={props.apiHost ?? null} />
      ))}
      {props.reconciliation && <ReconciliationPanel {...props.reconciliation} />}
    </div>
  )
}

const ReconciliationPanel = ({ issues, reconcile, reconciling, result }: ReconciliationState) => (
  <div className="flex flex-col gap-y-2" data-testid="stripe-reconciliation">
    {issues.length > 0 && (
      <Alert variant="warning" data-testid="stripe-reconciliation-issues">
        <div className="flex flex-col gap-y-1">
          <Text size="small" weight="plus">
            Stripe and this order disagree
          </Text>
          {issues.map((issue) => (
            <Text key={issue} size="small">
              {issue}
            </Text>
          ))}
        </div>
      </Alert>
    )}
    {result && "error" in result && (
      <Alert variant="error">
        <Text size="small">{result.error}</Text>
      </Alert>
    )}
    {result && !("error" in result) && (
      <div className="flex flex-col gap-y-1" data-testid="stripe-reconciliation-result">
        {result.fixed.length + result.flagged.length + result.waiting.length === 0 ? (
          <Text size="small" className="text-ui-fg-subtle">
            Medusa's books match Stripe.
          </Text>
        ) : (
          [
            ...result.fixed.map((line) => `Fixed: ${line}`),
            ...result.flagged.map((line) => `Needs you: ${line}`),
            ...result.waiting.map((line) => `Waiting: ${line}`),
          ].map((line) => (
            <Text key={line} size="small">
              {line}
            </Text>
          ))
        )}
      </div>
    )}
    {reconcile && (
      <div>
        <Button size="small" variant="secondary" onClick={reconcile} isLoading={reconciling}>
          Reconcile with Stripe
        </Button>
      </div>
    )}
  </div>
)

const LoadingSkeleton = () => (
  <div className="flex flex-col gap-y-3" aria-busy="true" data-testid="stripe-payments-loading">
    <div className="bg-ui-bg-subtle-pressed h-5 w-2/3 animate-pulse rounded" />
    <div className="grid grid-cols-2 gap-3">
      {[0, 1, 2, 3, 4, 5].map((i) => (
        <div key={i} className="bg-ui-bg-subtle-pressed h-4 animate-pulse rounded" />
      ))}
    </div>
    <Text size="small" className="text-ui-fg-muted">
      Asking Stripe…
    </Text>
  </div>
)

const Row = ({ label, children }: { label: string; children: ReactNode }) => (
  <div className="flex items-center justify-between gap-x-4 py-1.5">
    <Text size="small" className="text-ui-fg-subtle">
      {label}
    </Text>
    <div className="text-ui-fg-base txt-compact-small flex items-center gap-x-2 text-right">
      {children}
    </div>
  </div>
)

const PaymentBlock = ({
  payment,
  apiHost,
}: {
  payment: StripePaymentDetails
  apiHost: string | null
}) => {
  const money = (amount: number) => formatMoney(amount, payment.currency)
  const status = intentStatus(payment.status)
  const risk = payment.risk ? riskBadge(payment.risk.level) : null
  const secure = threeDSecure(payment.three_d_secure)
  const openDisputes = payment.disputes.filter((dispute) => isOpenDispute(dispute.status))
  const fullyRefunded =
    payment.amount_refunded > 0 && payment.amount_refunded >= payment.amount_captured
  return (
    <div
      className="border-ui-border-base flex flex-col gap-y-3 rounded-lg border p-4"
      data-testid="stripe-payment"
      data-payment-intent={payment.payment_intent_id}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div className="flex items-center gap-x-2">
          <Text size="small" weight="plus" family="mono" data-testid="stripe-payment-intent">
            {payment.payment_intent_id}
          </Text>
          <Copy content={payment.payment_intent_id} />
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Badge color={status.color} data-testid="stripe-payment-status">
            {status.label}
          </Badge>
          {payment.amount_refunded > 0 && (
            <Badge color="purple">{fullyRefunded ? "Refunded" : "Partially refunded"}</Badge>
          )}
          {openDisputes.length > 0 && <Badge color="red">Disputed</Badge>}
          {isTestMode(payment.dashboard_url) && <Badge color="orange">Test mode</Badge>}
        </div>
      </div>

      <div className="grid grid-cols-[repeat(auto-fit,minmax(240px,1fr))] gap-x-8">
        <div className="flex flex-col">
          <Row label="Amount">{money(payment.amount)}</Row>
          <Row label="Authorized">
            <span data-testid="stripe-amount-authorized">{money(payment.amount_authorized)}</span>
          </Row>
          <Row label="Captured">
            <span data-testid="stripe-amount-captured">{money(payment.amount_captured)}</span>
          </Row>
          <Row label="Refunded">
            <span data-testid="stripe-amount-refunded">{money(payment.amount_refunded)}</span>
          </Row>
        </div>
        <div className="flex flex-col">
          <Row label="Payment method">
            <span data-testid="stripe-payment-method">
              {paymentMethodLabel(payment.payment_method)}
            </span>
          </Row>
          <Row label="3-D Secure">
            <Badge color={secure.color} size="small">
              {secure.label}
            </Badge>
          </Row>
          <Row label="Radar risk">
            {risk && payment.risk ? (
              <span className="flex items-center gap-x-2" data-testid="stripe-risk">
                <Badge color={risk.color} size="small">
                  {risk.label}
                </Badge>
                {payment.risk.score !== null && (
                  <span className="text-ui-fg-subtle">score {payment.risk.score}</span>
                )}
              </span>
            ) : (
              <span className="text-ui-fg-muted">Not evaluated</span>
            )}
          </Row>
          <Row label="Stripe dashboard">
            {apiHost ? (
              <span className="text-ui-fg-muted" data-testid="stripe-dashboard-note">
                Not in Stripe: this backend uses the API at {apiHost}
              </span>
            ) : (
              <a
                href={payment.dashboard_url}
                target="_blank"
                rel="noopener noreferrer"
                className="text-ui-fg-interactive hover:text-ui-fg-interactive-hover txt-compact-small-plus"
                data-testid="stripe-dashboard-link"
              >
                Open in Stripe ↗
              </a>
            )}
          </Row>
        </div>
      </div>

      <RefundList payment={payment} money={money} />
      <DisputeList payment={payment} money={money} />
    </div>
  )
}

const Section = ({ title, children }: { title: string; children: ReactNode }) => (
  <div className="border-ui-border-base flex flex-col gap-y-2 border-t pt-3">
    <Text size="small" weight="plus">
      {title}
    </Text>
    {children}
  </div>
)

const RefundList = ({
  payment,
  money,
}: {
  payment: StripePaymentDetails
  money: (amount: number) => string
}) => {
  if (payment.refunds.length === 0) {
    return null
  }
  const outside = payment.refunds.filter((refund) => refund.made_outside_medusa).length
  return (
    <Section title={`Refunds (${payment.refunds.length})`}>
      {outside > 0 && (
        <Text size="small" className="text-ui-fg-subtle">
          {outside === 1 ? "One refund was" : `${outside} refunds were`} made outside Medusa, in the
          Stripe dashboard or through the API.
        </Text>
      )}
      <ul className="flex flex-col gap-y-1" data-testid="stripe-refunds">
        {payment.refunds.map((refund) => (
          <li
            key={refund.id}
            className="flex flex-wrap items-center justify-between gap-2"
            data-testid="stripe-refund"
          >
            <div className="flex items-center gap-x-2">
              <Text size="small" family="mono">
                {refund.id}
              </Text>
              {refund.made_outside_medusa && (
                <Badge color="orange" size="small">
                  Outside Medusa
                </Badge>
              )}
            </div>
            <div className="flex items-center gap-x-2">
              {refund.reason && (
                <Text size="small" className="text-ui-fg-subtle">
                  {humanize(refund.reason)}
                </Text>
              )}
              <Badge color={refundColor(refund.status)} size="small">
                {refund.status ? humanize(refund.status) : "Unknown"}
              </Badge>
              <Text size="small" weight="plus">
                {money(refund.amount)}
              </Text>
            </div>
          </li>
        ))}
      </ul>
    </Section>
  )
}

const DisputeList = ({
  payment,
  money,
}: {
  payment: StripePaymentDetails
  money: (amount: number) => string
}) => {
  if (payment.disputes.length === 0) {
    return null
  }
  return (
    <Section title={`Disputes (${payment.disputes.length})`}>
      <ul className="flex flex-col gap-y-1" data-testid="stripe-disputes">
        {payment.disputes.map((dispute) => (
          <li
            key={dispute.id}
            className="flex flex-wrap items-center justify-between gap-2"
            data-testid="stripe-dispute"
          >
            <Text size="small" family="mono">
              {dispute.id}
            </Text>
            <div className="flex items-center gap-x-2">
              <Text size="small" className="text-ui-fg-subtle">
                {humanize(dispute.reason)}
              </Text>
              <Badge color={disputeColor(dispute.status)} size="small">
                {humanize(dispute.status)}
              </Badge>
              <Text size="small" weight="plus">
                {money(dispute.amount)}
              </Text>
            </div>
          </li>
        ))}
      </ul>
    </Section>
  )
}
