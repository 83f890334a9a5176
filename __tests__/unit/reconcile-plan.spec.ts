import type Stripe from "stripe"
import type { LedgerPayment, LedgerResource, LedgerView } from "../../src/reconcile/ledger"
import { PLUGIN_REFUND_GRACE_MS, planReconciliation } from "../../src/reconcile/plan"
import type { StripeTruth } from "../../src/reconcile/stripe-truth"

const NOW = 1_800_000_000_000

function buildIntent(overrides: Partial<Stripe.PaymentIntent> = {}): Stripe.PaymentIntent {
  return {
    id: "pi_1",
    object: "payment_intent",
    amount: 3300,
    amount_capturable: 0,
    amount_received: 0,
    currency: "eur",
    status: "requires_capture",
    cancellation_reason: null,
    metadata: { resource_id: "cart_1" },
    latest_charge: { id: "ch_1", amount_refunded: 0 } as Stripe.Charge,
    ...overrides,
  } as Stripe.PaymentIntent
}

function buildRefund(overrides: Partial<Stripe.Refund> = {}): Stripe.Refund {
  return {
    id: "re_1",
    object: "refund",
    amount: 500,
    currency: "eur",
    status: "succeeded",
    created: NOW / 1000 - 3600,
    metadata: {},
    payment_intent: "pi_1",
    ...overrides,
  } as Stripe.Refund
}

function buildDispute(overrides: Partial<Stripe.Dispute> = {}): Stripe.Dispute {
  return {
    id: "dp_1",
    object: "dispute",
    amount: 3300,
    currency: "eur",
    status: "needs_response",
    created: NOW / 1000 - 60,
    reason: "fraudulent",
    payment_intent: "pi_1",
    balance_transactions: [],
    ...overrides,
  } as Stripe.Dispute
}

function buildPayment(overrides: Partial<LedgerPayment> = {}): LedgerPayment {
  return {
    id: "pay_1",
    amount: 3300,
    amount_refunded: 0,
    currency_code: "eur",
    captured: false,
    canceled: false,
    order_id: "order_1",
    swap_id: null,
    booked_refunds: [],
    noted_disputes: {},
    ...overrides,
  }
}

function buildResource(overrides: Partial<LedgerResource> = {}): LedgerResource {
  return {
    id: "cart_1",
    kind: "cart",
    exists: true,
    session_holds_intent: true,
    settled: true,
    ...overrides,
  }
}

const truthOf = (
  intent: Stripe.PaymentIntent,
  extra: Partial<Omit<StripeTruth, "intent">> = {}
): StripeTruth => ({ intent, charge: null, refunds: [], disputes: [], ...extra })

const booksOf = (payments: LedgerPayment[], resource = buildResource()): LedgerView => ({
  payments,
  resource,
})

const kinds = (truth: StripeTruth, books: LedgerView) =>
  planReconciliation(truth, books, NOW).map((action) => action.kind)

describe("planReconciliation", () => {
  describe("captures", () => {
    it("books a capture made at Stripe that Medusa has not", () => {
      const intent = buildIntent({ status: "succeeded", amount_received: 3300 })
      expect(planReconciliation(truthOf(intent), booksOf([buildPayment()]), NOW)).toEqual([
        expect.objectContaining({ kind: "book_capture", amount: 3300, partial: false }),
      ])
    })

    it("books a partial capture made in the dashboard for what Stripe received", () => {
      const intent = buildIntent({ status: "succeeded", amount_received: 2000 })
      expect(planReconciliation(truthOf(intent), booksOf([buildPayment()]), NOW)).toEqual([
        expect.objectContaining({ kind: "book_capture", amount: 2000, partial: true }),
      ])
    })

    it("changes nothing for an authorization both sides agree on", () => {
      const intent = buildIntent({ status: "requires_capture", amount_capturable: 3300 })
      expect(kinds(truthOf(intent), booksOf([buildPayment()]))).toEqual([])
    })

    it("changes nothing for a capture both sides booked", () => {
      const intent = buildIntent({ status: "succeeded", amount_received: 3300 })
      expect(kinds(truthOf(intent), booksOf([buildPayment({ captured: true })]))).toEqual([])
    })

    it("flags a payment Medusa calls captured that Stripe only authorized", () => {
      const intent = buildIntent({ status: "requires_capture", amount_capturable: 3300 })
      expect(kinds(truthOf(intent), booksOf([buildPayment({ captured: true })]))).toEqual(["flag"])
    })
  })

  describe("releases", () => {
    it.each([
      ["canceled in the dashboard", "requested_by_customer", /canceled at Stripe/],
      ["expired", "automatic", /expired at Stripe/],
    ])("cancels the payment of an authorization %s", (_name, reason, text) => {
      const intent = buildIntent({
        status: "canceled",
        cancellation_reason: reason as Stripe.PaymentIntent.CancellationReason,
      })
      const [action] = planReconciliation(truthOf(intent), booksOf([buildPayment()]), NOW)
      expect(action).toMatchObject({ kind: "book_release", reason: expect.stringMatching(text) })
    })

    it("leaves a payment Medusa canceled itself alone", () => {
      const intent = buildIntent({ status: "canceled" })
      expect(kinds(truthOf(intent), booksOf([buildPayment({ canceled: true })]))).toEqual([])
    })
  })

  describe("refunds", () => {
    const captured = buildIntent({ status: "succeeded", amount_received: 3300 })

    it("books a refund made in the dashboard", () => {
      const refunds = [buildRefund()]
      const [action] = planReconciliation(
        truthOf(captured, { refunds }),
        booksOf([buildPayment({ captured: true })]),
        NOW
      )
      expect(action).toMatchObject({ kind: "book_refund", refund: { id: "re_1" } })
    })

    it("books a refund once: one in the payment's books is left alone", () => {
      const refunds = [buildRefund()]
      const payment = buildPayment({ captured: true, booked_refunds: ["re_1"] })
      expect(kinds(truthOf(captured, { refunds }), booksOf([payment]))).toEqual([])
    })

    it("waits for a plugin refund whose request may still be booking it", () => {
      const refunds = [
        buildRefund({
          created: (NOW - PLUGIN_REFUND_GRACE_MS / 2) / 1000,
          metadata: { medusa_refund_origin: "medusa" },
        }),
      ]
      expect(
        kinds(truthOf(captured, { refunds }), booksOf([buildPayment({ captured: true })]))
      ).toEqual(["wait"])
    })

    it("books a plugin refund Medusa lost once the grace period is over", () => {
      const refunds = [
        buildRefund({
          created: (NOW - 2 * PLUGIN_REFUND_GRACE_MS) / 1000,
          metadata: { medusa_refund_origin: "medusa" },
        }),
      ]
      expect(
        kinds(truthOf(captured, { refunds }), booksOf([buildPayment({ captured: true })]))
      ).toEqual(["book_refund"])
    })

    it("books refunds on a canceled order too", () => {
      const refunds = [buildRefund({ amount: 3300 })]
      const intent = buildIntent({
        status: "succeeded",
        amount_received: 3300,
        latest_charge: { id: "ch_1", amount_refunded: 3300 } as Stripe.Charge,
      })
      const payment = buildPayment({ captured: true, canceled: true })
      expect(kinds(truthOf(intent, { refunds }), booksOf([payment]))).toEqual(["book_refund"])
    })

    it("notes the refund of a payment Medusa canceled before any order rested on it", () => {
      // A completion that ran out of stock: Medusa cancels the payment, the plugin refunds the
      // settled debit, and Medusa 1.20 keeps none of what cancelPayment answered.
      const refunds = [
        buildRefund({
          amount: 3300,
          created: NOW / 1000,
          metadata: { medusa_refund_origin: "medusa" },
        }),
      ]
      const refunded = buildIntent({
        status: "succeeded",
        amount_received: 3300,
        latest_charge: { id: "ch_1", amount_refunded: 3300 } as Stripe.Charge,
      })
      const payment = buildPayment({ canceled: true, order_id: null })
      const [action, ...rest] = planReconciliation(
        truthOf(refunded, { refunds }),
        booksOf([payment]),
        NOW
      )
      expect({ action, rest }).toMatchObject({
        action: { kind: "note_refund", payment: { id: "pay_1" }, refund: { id: "re_1" } },
        rest: [],
      })
    })

    it("flags a refund of a live payment no order rests on", () => {
      const refunds = [buildRefund()]
      const payment = buildPayment({ order_id: null })
      expect(kinds(truthOf(captured, { refunds }), booksOf([payment]))).toEqual([
        "book_capture",
        "flag",
      ])
    })

    it("books nothing for the refund that releases an uncaptured authorization", () => {
      const released = buildIntent({ status: "canceled" })
      const charge = { id: "ch_1", captured: false } as Stripe.Charge
      const payment = buildPayment({ canceled: true })
      expect(
        kinds(
          truthOf(released, { charge, refunds: [buildRefund({ amount: 3300 })] }),
          booksOf([payment])
        )
      ).toEqual([])
    })

    it("flags a booked refund that failed at Stripe", () => {
      const refunds = [buildRefund({ status: "failed" })]
      const payment = buildPayment({ captured: true, booked_refunds: ["re_1"] })
      expect(kinds(truthOf(captured, { refunds }), booksOf([payment]))).toEqual(["flag"])
    })
  })

  describe("disputes", () => {
    const captured = buildIntent({ status: "succeeded", amount_received: 3300 })
    const payment = buildPayment({ captured: true })

    it.each([
      ["opened", "needs_response", ["note_disputes"]],
      ["won", "won", ["note_disputes"]],
      ["lost", "lost", ["note_disputes", "book_lost_dispute"]],
    ])("notes a dispute %s, and books it when lost", (_name, status, expected) => {
      const disputes = [buildDispute({ status: status as Stripe.Dispute.Status })]
      expect(kinds(truthOf(captured, { disputes }), booksOf([payment]))).toEqual(expected)
    })

    it("notes nothing again while the dispute's status is unchanged", () => {
      const disputes = [buildDispute()]
      const noted = buildPayment({ captured: true, noted_disputes: { dp_1: "needs_response" } })
      expect(kinds(truthOf(captured, { disputes }), booksOf([noted]))).toEqual([])
    })

    it("books a lost dispute once", () => {
      const disputes = [buildDispute({ status: "lost" })]
      const booked = buildPayment({
        captured: true,
        noted_disputes: { dp_1: "lost" },
        booked_refunds: ["dp_1"],
      })
      expect(kinds(truthOf(captured, { disputes }), booksOf([booked]))).toEqual([])
    })
  })

  describe("money without an owner", () => {
    const settledSepa = buildIntent({ status: "succeeded", amount_received: 3300 })

    it("returns a dropped session's money once it settled after the cart was paid otherwise", () => {
      const [action] = planReconciliation(
        truthOf(settledSepa),
        booksOf([], buildResource({ settled: true, session_holds_intent: false })),
        NOW
      )
      expect(action).toMatchObject({
        kind: "return_money",
        held: 3300,
        reason: expect.stringContaining("completed with another payment"),
      })
    })

    it("returns money held for a canceled payment collection", () => {
      const resource = buildResource({ id: "paycol_1", kind: "payment_collection" })
      const [action] = planReconciliation(truthOf(settledSepa), booksOf([], resource), NOW)
      expect(action).toMatchObject({ kind: "return_money" })
    })

    it("returns what Stripe still holds after Medusa canceled the payment", () => {
      const authorized = buildIntent({ status: "requires_capture", amount_capturable: 3300 })
      const payment = buildPayment({ canceled: true })
      expect(kinds(truthOf(authorized), booksOf([payment]))).toEqual(["return_money"])
    })

    it("leaves a paid cart whose order is on its way alone", () => {
      const resource = buildResource({ settled: false, session_holds_intent: true })
      expect(kinds(truthOf(settledSepa), booksOf([], resource))).toEqual([])
    })

    it("leaves an intent of a resource this store does not have alone", () => {
      expect(kinds(truthOf(settledSepa), booksOf([], buildResource({ exists: false })))).toEqual([])
    })

    it("has nothing to return once the money went back", () => {
      const refunded = buildIntent({
        status: "succeeded",
        amount_received: 3300,
        latest_charge: { id: "ch_1", amount_refunded: 3300 } as Stripe.Charge,
      })
      const resource = buildResource({ settled: true, session_holds_intent: false })
      expect(kinds(truthOf(refunded), booksOf([], resource))).toEqual([])
    })
  })
})
