import type Stripe from "stripe"
import { formatStripeAmount, fromStripeAmount } from "../core/amounts"
import { heldAmount } from "../core/held-funds"
import { isPluginRefund } from "../core/webhook-events"
import type { LedgerPayment, LedgerView } from "./ledger"
import type { StripeTruth } from "./stripe-truth"

/**
 * How long a refund the plugin made may be missing from Medusa's books before it is booked
 * from Stripe: Medusa books it in the transaction that asked for it, which may still be open.
 * One still missing after this was made by a transaction that rolled back.
 */
export const PLUGIN_REFUND_GRACE_MS = 30_000

/** One difference between Stripe and Medusa's books, and what makes them agree. */
export type ReconcileAction =
  | { kind: "book_capture"; payment: LedgerPayment; amount: number; partial: boolean }
  | { kind: "book_refund"; payment: LedgerPayment; refund: Stripe.Refund }
  /** A refund of money Medusa gave up (a canceled payment with no order): noted on it. */
  | { kind: "note_refund"; payment: LedgerPayment; refund: Stripe.Refund }
  | { kind: "book_lost_dispute"; payment: LedgerPayment; dispute: Stripe.Dispute }
  | { kind: "book_release"; payment: LedgerPayment; reason: string }
  | { kind: "note_disputes"; payment: LedgerPayment; disputes: Stripe.Dispute[] }
  | { kind: "return_money"; held: number; reason: string }
  | { kind: "flag"; payment: LedgerPayment; issue: string }
  /** Medusa may still be booking it (its request is running): look again later. */
  | { kind: "wait"; reason: string }

const LIVE_REFUND = new Set(["succeeded", "pending", "requires_action"])

/**
 * Compares Stripe's truth about one intent with Medusa's books and lists what to change.
 * Pure: every rule is tested without I/O.
 */
export function planReconciliation(
  truth: StripeTruth,
  books: LedgerView,
  now: number = Date.now()
): ReconcileAction[] {
  const { intent } = truth
  const actions: ReconcileAction[] = []
  const live = books.payments.filter((payment) => !payment.canceled)
  const ordered = books.payments.find((payment) => payment.order_id) ?? books.payments[0]

  for (const payment of live) {
    actions.push(...planCapture(intent, payment))
  }
  if (ordered) {
    actions.push(...planRefunds(truth, ordered, now))
    actions.push(...planDisputes(truth, ordered))
  }
  const orphan = planOwnerless(truth, books, live)
  if (orphan) {
    actions.push(orphan)
  }
  return actions
}

function planCapture(intent: Stripe.PaymentIntent, payment: LedgerPayment): ReconcileAction[] {
  const booked = payment.amount
  if (intent.status === "canceled" && !payment.captured) {
    const why =
      intent.cancellation_reason === "automatic"
        ? "the authorization expired at Stripe before it was captured"
        : `the authorization was canceled at Stripe (${intent.cancellation_reason ?? "in the dashboard"})`
    return [
      {
        kind: "book_release",
        payment,
        reason: `${why}; there is no payment left to capture on ${intent.id}`,
      },
    ]
  }
  if (intent.status === "succeeded" && !payment.captured) {
    const received = fromStripeAmount(intent.amount_received, intent.currency)
    return [
      {
        kind: "book_capture",
        payment,
        amount: Math.min(received, booked),
        partial: received < booked,
      },
    ]
  }
  if (payment.captured && intent.status === "requires_capture") {
    return [
      {
        kind: "flag",
        payment,
        issue: `Medusa shows payment ${payment.id} captured but ${intent.id} is still only authorized at Stripe`,
      },
    ]
  }
  return []
}

function planRefunds(truth: StripeTruth, payment: LedgerPayment, now: number): ReconcileAction[] {
  if (truth.charge && !truth.charge.captured) {
    // Canceling an uncaptured intent shows as a refund of its charge: an authorization
    // released, no money given back.
    return []
  }
  const booked = new Set(payment.booked_refunds)
  const actions: ReconcileAction[] = []
  for (const refund of truth.refunds) {
    const isBooked = booked.has(refund.id)
    if (!LIVE_REFUND.has(refund.status ?? "")) {
      if (isBooked) {
        actions.push({
          kind: "flag",
          payment,
          issue: `refund ${refund.id} (${formatStripeAmount(refund.amount, refund.currency)}) is booked in Medusa but ${refund.status} at Stripe: the money did not go back`,
        })
      }
      continue
    }
    if (isBooked) {
      continue
    }
    if (!payment.order_id && payment.canceled) {
      // Medusa canceled the payment before any order rested on it (a completion that ran out
      // of stock), and the plugin refunded what Stripe held. Medusa 1.20 drops what
      // `cancelPayment` answers, so the refund reaches the payment's data only from here.
      actions.push({ kind: "note_refund", payment, refund })
      continue
    }
    if (isPluginRefund(refund) && now - refund.created * 1000 < PLUGIN_REFUND_GRACE_MS) {
      actions.push({
        kind: "wait",
        reason: `refund ${refund.id} of ${truth.intent.id} is not in Medusa's books yet; the request that made it may still be running`,
      })
      continue
    }
    if (!payment.order_id) {
      actions.push({
        kind: "flag",
        payment,
        issue: `refund ${refund.id} of ${truth.intent.id} belongs to no order (payment ${payment.id}); book it by hand`,
      })
      continue
    }
    actions.push({ kind: "book_refund", payment, refund })
  }
  return actions
}

function planDisputes(truth: StripeTruth, payment: LedgerPayment): ReconcileAction[] {
  if (truth.disputes.length === 0) {
    return []
  }
  const actions: ReconcileAction[] = []
  const changed = truth.disputes.some(
    (dispute) => payment.noted_disputes[dispute.id] !== dispute.status
  )
  if (changed) {
    actions.push({ kind: "note_disputes", payment, disputes: truth.disputes })
  }
  const booked = new Set(payment.booked_refunds)
  for (const dispute of truth.disputes) {
    if (dispute.status === "lost" && !booked.has(dispute.id) && payment.order_id) {
      actions.push({ kind: "book_lost_dispute", payment, dispute })
    }
  }
  return actions
}

/**
 * Money Stripe holds on an intent no live Medusa payment rests on, for a resource that will not
 * book it: a session dropped (or replaced) before it settled, a cart completed with another
 * payment, a canceled order or payment collection. It goes back to the shopper.
 */
function planOwnerless(
  truth: StripeTruth,
  books: LedgerView,
  live: LedgerPayment[]
): ReconcileAction | undefined {
  const held = heldAmount(truth.intent)
  if (held <= 0 || live.length > 0) {
    return undefined
  }
  const resource = books.resource
  if (!resource?.exists) {
    // Another store's intent, or one made by hand in the dashboard: not ours to move.
    return undefined
  }
  if (books.payments.length > 0) {
    return {
      kind: "return_money",
      held,
      reason: `its Medusa payment was canceled, yet Stripe still holds ${formatStripeAmount(held, truth.intent.currency)}`,
    }
  }
  if (resource.session_holds_intent && !resource.settled) {
    // Paid, and the order is on its way (the shopper's completion or the webhook's).
    return undefined
  }
  const why = resource.settled
    ? resource.kind === "cart"
      ? `cart ${resource.id} was completed with another payment`
      : `payment collection ${resource.id} was canceled or paid otherwise`
    : `no payment session of ${resource.id} holds it any more`
  return {
    kind: "return_money",
    held,
    reason: `${why}, yet Stripe holds ${formatStripeAmount(held, truth.intent.currency)} on ${truth.intent.id}`,
  }
}
