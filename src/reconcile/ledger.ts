import type Stripe from "stripe"

/** A Medusa `Payment` that rests on the PaymentIntent being reconciled. */
export interface LedgerPayment {
  id: string
  /** In Medusa's minor unit. */
  amount: number
  amount_refunded: number
  currency_code: string
  captured: boolean
  canceled: boolean
  order_id: string | null
  swap_id: string | null
  /** Stripe refunds (and lost disputes) Medusa's books hold for this payment, by Stripe id. */
  booked_refunds: string[]
  /** Dispute statuses noted on the order, by dispute id. */
  noted_disputes: Record<string, string>
}

/** The cart or payment collection the intent was made for, as Medusa's tables show it. */
export interface LedgerResource {
  id: string
  kind: "cart" | "payment_collection"
  /** This database has it (an intent of another store on the same account is not ours). */
  exists: boolean
  /** A payment session of the resource holds the intent: its order may still be on its way. */
  session_holds_intent: boolean
  /** The cart has its order (or swap), or the collection was canceled or paid otherwise. */
  settled: boolean
}

/** Medusa's books about one intent. */
export interface LedgerView {
  payments: LedgerPayment[]
  resource?: LedgerResource
}

/** What Medusa's books are changed with; implemented on Medusa's tables and services. */
export interface MedusaBooks {
  read(paymentIntentId: string, resourceId: string | undefined): Promise<LedgerView>
  /** Marks the payment captured for `amount` (Medusa's unit), which may be less than booked. */
  bookCapture(payment: LedgerPayment, amount: number): Promise<void>
  /** Adds a `Refund` for a Stripe refund to the payment's order, once per refund id. */
  bookRefund(payment: LedgerPayment, refund: Stripe.Refund): Promise<boolean>
  /** Notes a refund in the data of a canceled payment no order rests on, once per refund id. */
  noteRefund(payment: LedgerPayment, refund: Stripe.Refund): Promise<boolean>
  /** Adds a `Refund` for the funds a lost dispute kept, once per dispute id. */
  bookLostDispute(payment: LedgerPayment, dispute: Stripe.Dispute): Promise<boolean>
  /** Cancels the payment whose authorization Stripe released, saying why on the order. */
  bookRelease(payment: LedgerPayment, reason: string): Promise<void>
  /** Notes the disputes (status, amount, reason, due date) on the order. */
  noteDisputes(payment: LedgerPayment, disputes: Stripe.Dispute[]): Promise<void>
  /** Flags what cannot be fixed automatically on the order (metadata), once per text. */
  flag(payment: LedgerPayment, issue: string): Promise<void>
}
