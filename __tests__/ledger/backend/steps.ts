import fc from "fast-check"

/**
 * One step of a history through a real backend, as plain data: a Store or Admin API call, what
 * the shopper or the bank does at Stripe, what the merchant does in the Stripe dashboard, how
 * Stripe's webhooks arrive, a Stripe fault, or the backend killed and restarted. Steps name
 * their cart or order by a small index taken modulo the number there are, so that a step stays
 * meaningful after shrinking removes others; a step with nothing to act on does nothing.
 */
export type Provider = "stripe" | "stripe-ideal" | "stripe-sepa-debit" | "manual"
export type TestCard = "visa" | "3ds" | "declined"
export type FaultKind = "500" | "429" | "reset" | "timeout"
export type Delivery = "in order" | "duplicated" | "reordered"
/**
 * How the shopper pays a swap's additional amount: by card and completes the swap's cart, or
 * through 3-D Secure and never comes back (the webhook completes it, once delivered).
 */
export type SwapPayment = "card" | "3ds, gone"

export type Step =
  | { t: "cart"; quantity: 1 | 2; provider: Provider }
  | { t: "quantity"; cart: number; quantity: 1 | 2 | 3 }
  | { t: "select"; cart: number; provider: Provider }
  | { t: "sessions"; cart: number }
  | { t: "delete"; cart: number }
  | { t: "refresh"; cart: number }
  | { t: "confirm"; cart: number; card: TestCard }
  | { t: "action"; cart: number; pass: boolean }
  | { t: "complete"; cart: number; twice: boolean; webhook: boolean }
  | { t: "deliver"; how: Delivery }
  | { t: "discount"; cart: number }
  | { t: "gift-card"; cart: number }
  | { t: "region"; cart: number }
  | { t: "stock"; available: boolean }
  | { t: "bank"; cart: number; succeed: boolean }
  | { t: "capture"; order: number }
  | { t: "refund"; order: number; part: "half" | "rest" }
  | { t: "cancel-order"; order: number }
  | { t: "edit"; order: number; sessions: 1 | 2; upto: "requested" | "authorized" | "completed" }
  | { t: "swap"; order: number; pay: SwapPayment; then: "process" | "cancel" | "leave" }
  | { t: "dash-capture"; order: number; part: "full" | "partial" }
  | { t: "dash-cancel"; order: number }
  | { t: "dash-refund"; order: number; part: "half" | "rest" }
  | { t: "dispute"; order: number }
  | { t: "dispute-close"; order: number; outcome: "won" | "lost" }
  | { t: "fault"; kind: FaultKind; when: "before" | "after"; count: 1 | 2 }
  | { t: "restart"; during: "idle" | "complete" }

export type StepType = Step["t"]

const cart = fc.nat({ max: 2 })
const order = fc.nat({ max: 2 })
export const PROVIDER = fc.constantFrom<Provider>(
  "stripe",
  "stripe",
  "stripe",
  "stripe-ideal",
  "stripe-sepa-debit",
  "manual"
)
const provider = PROVIDER

/** Arbitraries of every step, with weights: shopper steps often, faults and restarts rarely. */
export const STEP_ARBITRARIES: {
  type: StepType
  weight: number
  arbitrary: fc.Arbitrary<Step>
}[] = [
  {
    type: "cart",
    weight: 2,
    arbitrary: fc
      .record({ quantity: fc.constantFrom<1 | 2>(1, 2), provider })
      .map((s) => ({ t: "cart", ...s })),
  },
  {
    type: "quantity",
    weight: 3,
    arbitrary: fc
      .record({ cart, quantity: fc.constantFrom<1 | 2 | 3>(1, 2, 3) })
      .map((s) => ({ t: "quantity", ...s })),
  },
  {
    type: "select",
    weight: 3,
    arbitrary: fc.record({ cart, provider }).map((s) => ({ t: "select", ...s })),
  },
  { type: "sessions", weight: 1, arbitrary: cart.map((c) => ({ t: "sessions", cart: c })) },
  { type: "delete", weight: 1, arbitrary: cart.map((c) => ({ t: "delete", cart: c })) },
  { type: "refresh", weight: 1, arbitrary: cart.map((c) => ({ t: "refresh", cart: c })) },
  {
    type: "confirm",
    weight: 6,
    arbitrary: fc
      .record({ cart, card: fc.constantFrom<TestCard>("visa", "visa", "visa", "3ds", "declined") })
      .map((s) => ({ t: "confirm", ...s })),
  },
  {
    type: "action",
    weight: 1,
    arbitrary: fc.record({ cart, pass: fc.boolean() }).map((s) => ({ t: "action", ...s })),
  },
  {
    type: "complete",
    weight: 6,
    arbitrary: fc
      .record({ cart, twice: fc.boolean(), webhook: fc.boolean() })
      .map((s) => ({ t: "complete", ...s })),
  },
  {
    type: "deliver",
    weight: 3,
    arbitrary: fc
      .constantFrom<Delivery>("in order", "duplicated", "reordered")
      .map((how) => ({ t: "deliver", how })),
  },
  { type: "discount", weight: 1, arbitrary: cart.map((c) => ({ t: "discount", cart: c })) },
  { type: "gift-card", weight: 1, arbitrary: cart.map((c) => ({ t: "gift-card", cart: c })) },
  { type: "region", weight: 1, arbitrary: cart.map((c) => ({ t: "region", cart: c })) },
  {
    type: "stock",
    weight: 1,
    arbitrary: fc.boolean().map((available) => ({ t: "stock", available })),
  },
  {
    type: "bank",
    weight: 1,
    arbitrary: fc
      .record({ cart, succeed: fc.constantFrom(true, true, false) })
      .map((s) => ({ t: "bank", ...s })),
  },
  { type: "capture", weight: 3, arbitrary: order.map((o) => ({ t: "capture", order: o })) },
  {
    type: "refund",
    weight: 3,
    arbitrary: fc
      .record({ order, part: fc.constantFrom<"half" | "rest">("half", "rest") })
      .map((s) => ({ t: "refund", ...s })),
  },
  {
    type: "cancel-order",
    weight: 1,
    arbitrary: order.map((o) => ({ t: "cancel-order", order: o })),
  },
  {
    type: "edit",
    weight: 1,
    arbitrary: fc
      .record({
        order,
        sessions: fc.constantFrom<1 | 2>(1, 2),
        upto: fc.constantFrom<"requested" | "authorized" | "completed">(
          "requested",
          "authorized",
          "completed",
          "completed"
        ),
      })
      .map((s) => ({ t: "edit", ...s })),
  },
  {
    type: "swap",
    weight: 1,
    arbitrary: fc
      .record({
        order,
        pay: fc.constantFrom<SwapPayment>("card", "card", "3ds, gone"),
        then: fc.constantFrom<"process" | "cancel" | "leave">(
          "process",
          "process",
          "cancel",
          "leave"
        ),
      })
      .map((s) => ({ t: "swap", ...s })),
  },
  {
    type: "dash-capture",
    weight: 1,
    arbitrary: fc
      .record({ order, part: fc.constantFrom<"full" | "partial">("full", "partial") })
      .map((s) => ({ t: "dash-capture", ...s })),
  },
  { type: "dash-cancel", weight: 1, arbitrary: order.map((o) => ({ t: "dash-cancel", order: o })) },
  {
    type: "dash-refund",
    weight: 1,
    arbitrary: fc
      .record({ order, part: fc.constantFrom<"half" | "rest">("half", "rest") })
      .map((s) => ({ t: "dash-refund", ...s })),
  },
  { type: "dispute", weight: 1, arbitrary: order.map((o) => ({ t: "dispute", order: o })) },
  {
    type: "dispute-close",
    weight: 1,
    arbitrary: fc
      .record({ order, outcome: fc.constantFrom<"won" | "lost">("won", "lost") })
      .map((s) => ({ t: "dispute-close", ...s })),
  },
  {
    type: "fault",
    weight: 1,
    arbitrary: fc
      .record({
        kind: fc.constantFrom<FaultKind>("500", "500", "reset", "reset", "429", "timeout"),
        when: fc.constantFrom<"before" | "after">("before", "after"),
        count: fc.constantFrom<1 | 2>(1, 2),
      })
      .map((s) => ({ t: "fault", ...s })),
  },
  {
    type: "restart",
    weight: 1,
    arbitrary: fc
      .constantFrom<"idle" | "complete">("idle", "complete")
      .map((during) => ({ t: "restart", during })),
  },
]

export const STEP_TYPES: readonly StepType[] = STEP_ARBITRARIES.map(({ type }) => type)

/** How a step reads before it ran (targets unresolved). */
export function describeStep(step: Step): string {
  switch (step.t) {
    case "cart":
      return `new cart of ${step.quantity}, ${step.provider} selected`
    case "quantity":
      return `cart ${step.cart}: quantity -> ${step.quantity}`
    case "select":
      return `cart ${step.cart}: select ${step.provider}`
    case "sessions":
      return `cart ${step.cart}: create payment sessions again`
    case "delete":
      return `cart ${step.cart}: delete the selected session`
    case "refresh":
      return `cart ${step.cart}: refresh the selected session`
    case "confirm":
      return `cart ${step.cart}: shopper confirms (${step.card})`
    case "action":
      return `cart ${step.cart}: shopper ${step.pass ? "passes" : "fails"} the bank's check`
    case "complete":
      return `cart ${step.cart}: complete${step.twice ? " twice at once" : ""}${step.webhook ? ", webhooks delivered meanwhile" : ""}`
    case "deliver":
      return `Stripe delivers the pending webhooks (${step.how})`
    case "discount":
      return `cart ${step.cart}: apply a 10% discount code`
    case "gift-card":
      return `cart ${step.cart}: apply a gift card`
    case "region":
      return `cart ${step.cart}: move to the US region`
    case "stock":
      return step.available ? "stock comes back" : "stock runs out"
    case "bank":
      return `cart ${step.cart}: the bank ${step.succeed ? "settles" : "rejects"} a processing debit`
    case "capture":
      return `order ${step.order}: admin captures`
    case "refund":
      return `order ${step.order}: admin refunds ${step.part}`
    case "cancel-order":
      return `order ${step.order}: admin cancels the order`
    case "edit":
      return `order ${step.order}: order edit paid by ${step.sessions} Stripe session(s), ${step.upto === "completed" ? "completed" : `canceled once ${step.upto}`}`
    case "swap":
      return `order ${step.order}: swap of one item for two, paid (${step.pay}), ${step.then === "leave" ? "then left" : `then ${step.then === "process" ? "processed" : "canceled"} by the admin`}`
    case "dash-capture":
      return `order ${step.order}: captured in the Stripe dashboard (${step.part})`
    case "dash-cancel":
      return `order ${step.order}: authorization canceled in the Stripe dashboard`
    case "dash-refund":
      return `order ${step.order}: refunded in the Stripe dashboard (${step.part})`
    case "dispute":
      return `order ${step.order}: the cardholder disputes the payment`
    case "dispute-close":
      return `order ${step.order}: the bank closes a dispute (${step.outcome})`
    case "fault":
      return `Stripe: next ${step.count} request(s) ${step.kind} ${step.when} the work`
    case "restart":
      return step.during === "idle"
        ? "the backend is killed and restarted"
        : "the backend is killed during a completion and restarted"
  }
}
