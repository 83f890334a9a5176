import Stripe from "stripe"
import { StripeEmulator } from "../../src/emulator"
import type {
  LedgerPayment,
  LedgerResource,
  LedgerView,
  MedusaBooks,
} from "../../src/reconcile/ledger"
import { PaymentIntentReconciler } from "../../src/reconcile/reconciler"
import { TEST_API_KEY } from "../support/processor"

/** Medusa's books as a few maps: what the reconciler reads and what it books. */
class BooksInMemory implements MedusaBooks {
  readonly payments = new Map<string, LedgerPayment & { intent: string }>()
  readonly refunds: { payment: string; key: string; amount: number }[] = []
  readonly flags: string[] = []
  resource: LedgerResource | undefined

  pay(intent: string, amount: number, overrides: Partial<LedgerPayment> = {}): LedgerPayment {
    const payment = {
      id: `pay_${this.payments.size + 1}`,
      intent,
      amount,
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
    this.payments.set(payment.id, payment)
    return payment
  }

  async read(intentId: string): Promise<LedgerView> {
    return {
      payments: [...this.payments.values()].filter((payment) => payment.intent === intentId),
      resource: this.resource,
    }
  }

  async bookCapture(payment: LedgerPayment, amount: number): Promise<void> {
    Object.assign(this.payments.get(payment.id)!, { captured: true, amount })
  }

  async bookRefund(payment: LedgerPayment, refund: Stripe.Refund): Promise<boolean> {
    return this.book(payment, refund.id, refund.amount)
  }

  async noteRefund(payment: LedgerPayment, refund: Stripe.Refund): Promise<boolean> {
    const row = this.payments.get(payment.id)!
    if (row.booked_refunds.includes(refund.id)) return false
    row.booked_refunds.push(refund.id)
    return true
  }

  async bookLostDispute(payment: LedgerPayment, dispute: Stripe.Dispute): Promise<boolean> {
    return this.book(payment, dispute.id, dispute.amount)
  }

  private book(payment: LedgerPayment, key: string, amount: number): boolean {
    const row = this.payments.get(payment.id)!
    if (row.booked_refunds.includes(key)) return false
    row.booked_refunds.push(key)
    row.amount_refunded += amount
    this.refunds.push({ payment: payment.id, key, amount })
    return true
  }

  async bookRelease(payment: LedgerPayment, reason: string): Promise<void> {
    this.payments.get(payment.id)!.canceled = true
    this.flags.push(reason)
  }

  async noteDisputes(payment: LedgerPayment, disputes: Stripe.Dispute[]): Promise<void> {
    const row = this.payments.get(payment.id)!
    for (const dispute of disputes) row.noted_disputes[dispute.id] = dispute.status
  }

  async flag(_payment: LedgerPayment, issue: string): Promise<void> {
    this.flags.push(issue)
  }
}

describe("PaymentIntentReconciler", () => {
  let emulator: StripeEmulator
  let stripe: Stripe
  let books: BooksInMemory
  let reconciler: PaymentIntentReconciler

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    const { host, port, protocol } = emulator.stripeConfig()
    stripe = new Stripe(TEST_API_KEY, { host, port, protocol, apiVersion: "2024-04-10" })
  })

  afterAll(async () => {
    await emulator.stop()
  })

  beforeEach(() => {
    emulator.reset()
    books = new BooksInMemory()
    books.resource = {
      id: "cart_1",
      kind: "cart",
      exists: true,
      session_holds_intent: true,
      settled: true,
    }
    const logger = { info: () => undefined, warn: () => undefined }
    reconciler = new PaymentIntentReconciler({ stripe, books, logger })
  })

  const paidIntent = async (capture: "manual" | "automatic" = "manual") => {
    const intent = await stripe.paymentIntents.create({
      amount: 3300,
      currency: "eur",
      capture_method: capture,
      payment_method_types: ["card"],
      metadata: { resource_id: "cart_1", cart_id: "cart_1" },
    })
    await emulator.confirmPaymentIntent(intent.id, { payment_method: "pm_card_visa" })
    return intent.id
  }

  it("books a partial capture made in the dashboard, and flags it", async () => {
    const intentId = await paidIntent()
    const payment = books.pay(intentId, 3300)
    await stripe.paymentIntents.capture(intentId, { amount_to_capture: 2000 })

    const report = await reconciler.call(intentId)

    expect(books.payments.get(payment.id)).toMatchObject({ captured: true, amount: 2000 })
    expect(report.fixed).toHaveLength(1)
    expect(report.flagged).toEqual([expect.stringContaining("captured in part at Stripe")])
  })

  it("books a dashboard refund once, however often it runs", async () => {
    const intentId = await paidIntent("automatic")
    books.pay(intentId, 3300, { captured: true })
    const refund = await emulator.refundFromDashboard(intentId, 500)

    const first = await reconciler.call(intentId)
    const second = await reconciler.call(intentId)

    expect(books.refunds).toEqual([{ payment: "pay_1", key: refund.id, amount: 500 }])
    expect(first.fixed).toHaveLength(1)
    expect(second).toMatchObject({ fixed: [], flagged: [], waiting: [] })
  })

  it("waits for a refund the plugin just made, which Medusa may still be booking", async () => {
    const intentId = await paidIntent("automatic")
    books.pay(intentId, 3300, { captured: true })
    await stripe.refunds.create({
      payment_intent: intentId,
      amount: 500,
      metadata: { medusa_refund_origin: "medusa" },
    })
    const report = await reconciler.call(intentId)
    expect(report.waiting).toHaveLength(1)
    expect(books.refunds).toEqual([])
  })

  it("cancels the payment of an authorization canceled in the dashboard", async () => {
    const intentId = await paidIntent()
    const payment = books.pay(intentId, 3300)
    await stripe.paymentIntents.cancel(intentId)
    await reconciler.call(intentId)
    expect(books.payments.get(payment.id)?.canceled).toBe(true)
    expect(books.flags).toEqual([expect.stringContaining("canceled at Stripe")])
  })

  it("notes a dispute, then books it once lost", async () => {
    const intentId = await paidIntent("automatic")
    const payment = books.pay(intentId, 3300, { captured: true })
    const dispute = await emulator.createDispute(intentId)
    await reconciler.call(intentId)
    expect(books.payments.get(payment.id)?.noted_disputes).toEqual({
      [dispute.id]: "needs_response",
    })
    expect(books.refunds).toEqual([])

    await emulator.closeDispute(dispute.id, "lost")
    await reconciler.call(intentId)
    expect(books.refunds).toEqual([{ payment: payment.id, key: dispute.id, amount: 3300 }])
  })

  it("gives back money no live payment rests on, once", async () => {
    const intentId = await paidIntent("automatic")
    books.resource = { ...books.resource!, session_holds_intent: false }

    const report = await reconciler.call(intentId)
    await reconciler.call(intentId)

    const refunds = emulator.refunds().filter((refund) => refund.payment_intent === intentId)
    expect(refunds).toMatchObject([{ amount: 3300, status: "succeeded" }])
    expect(report.fixed).toEqual([expect.stringContaining("completed with another payment")])
  })

  it("releases an authorization no live payment rests on", async () => {
    const intentId = await paidIntent()
    books.resource = { ...books.resource!, session_holds_intent: false }
    await reconciler.call(intentId)
    expect(emulator.paymentIntent(intentId)?.status).toBe("canceled")
  })

  it("leaves a paid cart whose order is on its way alone", async () => {
    const intentId = await paidIntent()
    books.resource = { ...books.resource!, settled: false, session_holds_intent: true }
    const report = await reconciler.call(intentId)
    expect(report).toMatchObject({ fixed: [], flagged: [], waiting: [] })
    expect(emulator.paymentIntent(intentId)?.status).toBe("requires_capture")
  })
})
