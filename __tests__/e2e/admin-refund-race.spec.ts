import { advisoryLockKeys } from "../../src/core/webhook-lock"
import { paymentIntentLockName } from "../../src/core/webhook-events"
import {
  adminClient,
  bootE2E,
  cardOrder,
  connectDb,
  emulatorOf,
  sleep,
  waitFor,
  type Db,
  type E2E,
  type AdminClient,
  type Order,
} from "../support"

jest.setTimeout(180_000)

interface AdminOrder {
  id: string
  refunded_total: number
  paid_total: number
}

interface RefundAnswer {
  status: number
  body: unknown
}

/**
 * Admins refunding one order at the same time (two admins, or a double click reaching two
 * backends). A refund adopts a refund the plugin made that the payment's data does not hold, so
 * a second refund running while the first one's transaction is still open must wait for it:
 * otherwise it adopts the first one's Stripe refund and Medusa books one Stripe refund twice.
 * Webhooks are off: only the admin moves money.
 */
describe("concurrent admin refunds of one payment", () => {
  let e2e: E2E

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, webhooks: false })
  }, 240_000)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  const emulator = () => emulatorOf(e2e)

  const capturedOrder = async (): Promise<{ order: Order; intentId: string }> => {
    const paid = await cardOrder(e2e)
    await e2e.admin.post(`/admin/orders/${paid.order.id}/capture`)
    return paid
  }

  const stripeRefunds = (intentId: string) =>
    emulator()
      .refunds()
      .filter((refund) => refund.payment_intent === intentId && refund.status === "succeeded")

  const refund = async (
    orderId: string,
    amount: number,
    admin: AdminClient = e2e.admin
  ): Promise<RefundAnswer> => {
    const res = await admin.request<unknown>("POST", `/admin/orders/${orderId}/refund`, {
      amount,
      reason: "other",
    })
    return { status: res.status, body: res.body }
  }

  /**
   * Holds the order's payment row in a transaction of its own, so that a refund's Medusa
   * transaction stays open after Stripe refunded (it waits to write the payment), the way a
   * slow database or a busy backend keeps it open.
   */
  const holdPaymentRow = async (orderId: string): Promise<Db> => {
    const holder = await connectDb(e2e.database.url)
    await holder.query("BEGIN")
    await holder.query("SELECT id FROM payment WHERE order_id = $1 FOR UPDATE", [orderId])
    return holder
  }

  /**
   * Two refunds of 500 on one captured order, the second sent while the first one's Stripe
   * refund exists and its Medusa transaction is still open; `admin` sends the second.
   */
  const refundTwiceAtOnce = async (admin: AdminClient): Promise<void> => {
    const { order, intentId } = await capturedOrder()
    const holder = await holdPaymentRow(order.id)
    let first: Promise<RefundAnswer>
    let second: Promise<RefundAnswer>
    try {
      first = refund(order.id, 500)
      // The first refund is at Stripe, its transaction still open.
      await waitFor(() => stripeRefunds(intentId).length === 1, {
        description: "the first refund at Stripe",
      })
      second = refund(order.id, 500, admin)
      await sleep(1500)
    } finally {
      await holder.query("COMMIT")
      await holder.close()
    }
    const answers = await Promise.all([first, second])
    expect(answers.map((answer) => answer.status)).toEqual([200, 200])

    const refunds = stripeRefunds(intentId)
    const stripeRefunded = refunds.reduce((total, each) => total + each.amount, 0)
    const { order: books } = await e2e.admin.get<{ order: AdminOrder }>(`/admin/orders/${order.id}`)
    const [payment] = await e2e.db.query<{ data: { refunds?: { id: string }[] } }>(
      `SELECT data FROM payment WHERE order_id = $1`,
      [order.id]
    )
    // Medusa's books show what Stripe refunded, no more.
    expect(books.refunded_total).toBe(stripeRefunded)
    expect({
      medusaRefunded: books.refunded_total,
      stripeRefunded,
      stripeRefunds: refunds.length,
      booked: (payment?.data.refunds ?? []).map((each) => each.id).sort(),
    }).toEqual({
      medusaRefunded: 1000,
      stripeRefunded: 1000,
      stripeRefunds: 2,
      booked: refunds.map((each) => each.id).sort(),
    })
  }

  it("refuses a refund without an admin at once, without waiting for the payment's lock", async () => {
    const { order, intentId } = await capturedOrder()
    // Another backend is moving this payment's money: its lock is taken.
    const holder = await connectDb(e2e.database.url)
    await holder.query(
      "SELECT pg_advisory_lock($1, $2)",
      advisoryLockKeys(paymentIntentLockName(intentId))
    )
    try {
      const anonymous = await adminClient(e2e.backend.url).request<unknown>(
        "POST",
        `/admin/orders/${order.id}/refund`,
        { amount: 500, reason: "other" }
      )
      // Without authentication first, it waited for the lock and answered 409 a minute later.
      expect(anonymous.status).toBe(401)
    } finally {
      await holder.close()
    }
    expect(stripeRefunds(intentId)).toEqual([])
  })

  it("two equal refunds at once on one backend: Medusa books what Stripe refunded, each refund once", async () => {
    await refundTwiceAtOnce(e2e.admin)
  })

  it("two equal refunds at once on two backends: Medusa books what Stripe refunded, each refund once", async () => {
    const other = await e2e.startBackend()
    const admin = adminClient(other.url)
    await admin.login()
    await refundTwiceAtOnce(admin)
  })
})
