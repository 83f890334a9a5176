import fc from "fast-check"

/**
 * One step of a history, as plain data: what a shopper, Medusa, an admin or the network does
 * next. Steps name their cart or resource by a small index taken modulo the number there are,
 * so every step stays meaningful after shrinking removes others; a step with nothing to act on
 * does nothing. Recorded regression cases are lists of these.
 */
export type Provider = "card" | "ideal" | "sepa"
export type TestCard = "visa" | "3ds" | "declined"
export type FaultKind = "500" | "429" | "reset" | "timeout"
export type FaultWhen = "before" | "after"

export type Step =
  | { t: "cart"; total: number }
  | { t: "total"; cart: number; total: number }
  | { t: "totals"; cart: number; totals: number[] }
  | { t: "initiate"; cart: number; provider: Provider }
  | { t: "update"; cart: number }
  | { t: "delete"; cart: number }
  | { t: "switch"; cart: number; provider: Provider }
  | { t: "refresh"; cart: number }
  | { t: "confirm"; cart: number; card: TestCard }
  | { t: "action"; cart: number; pass: boolean }
  | { t: "confirm-stale"; cart: number }
  | { t: "complete"; cart: number; stock: boolean }
  | { t: "capture"; res: number }
  | { t: "refund"; res: number; part: "half" | "rest" }
  | { t: "refund-fails"; res: number; mode: "error" | "failed" | "lost" }
  | { t: "cancel-order"; res: number }
  | { t: "collection"; amount: number; provider: Provider }
  | { t: "fault"; kind: FaultKind; when: FaultWhen; count: 1 | 2 }
  | { t: "outage"; kind: "500" | "reset" }
  | { t: "checkout"; cart: number; provider: Provider }
  | { t: "region"; cart: number }
  | { t: "bank"; cart: number; succeed: boolean }
  | { t: "dash-capture"; res: number; part: "full" | "partial" }
  | { t: "dash-cancel"; res: number }
  | { t: "dash-refund"; res: number; part: "half" | "rest" }
  | { t: "dispute"; res: number }
  | { t: "dispute-close"; res: number; outcome: "won" | "lost" }

export type StepType = Step["t"]

/** Cart totals: few enough that A -> B -> C -> B histories and returns to 0 are common. */
export const TOTALS = [1500, 2500, 4000] as const

const index = fc.nat({ max: 2 })
const total = fc.constantFrom(...TOTALS)
const totalOrZero = fc.constantFrom(0, ...TOTALS)
const provider = fc.constantFrom<Provider>("card", "card", "ideal", "sepa")
/** Payment collections are paid by card or iDEAL (a debit that settles days later is not). */
const collectionProvider = fc.constantFrom<Provider>("card", "card", "ideal")

/** Arbitraries of every step, with weights: shopper and checkout steps often, faults rarely. */
export const STEP_ARBITRARIES: {
  type: StepType
  weight: number
  arbitrary: fc.Arbitrary<Step>
}[] = [
  { type: "cart", weight: 2, arbitrary: total.map((value) => ({ t: "cart", total: value })) },
  {
    type: "total",
    weight: 5,
    arbitrary: fc.record({ cart: index, total: totalOrZero }).map((s) => ({ t: "total", ...s })),
  },
  {
    // The shopper edits the cart several times in a row, so a total comes back to an earlier
    // value (A -> B -> C -> B) on one intent in many histories.
    type: "totals",
    weight: 2,
    arbitrary: fc
      .record({ cart: index, totals: fc.array(total, { minLength: 2, maxLength: 4 }) })
      .map((s) => ({ t: "totals", ...s })),
  },
  {
    type: "initiate",
    weight: 8,
    arbitrary: fc.record({ cart: index, provider }).map((s) => ({ t: "initiate", ...s })),
  },
  { type: "update", weight: 2, arbitrary: index.map((cart) => ({ t: "update", cart })) },
  { type: "delete", weight: 2, arbitrary: index.map((cart) => ({ t: "delete", cart })) },
  {
    type: "switch",
    weight: 2,
    arbitrary: fc.record({ cart: index, provider }).map((s) => ({ t: "switch", ...s })),
  },
  { type: "refresh", weight: 2, arbitrary: index.map((cart) => ({ t: "refresh", cart })) },
  {
    type: "confirm",
    weight: 8,
    arbitrary: fc
      .record({ cart: index, card: fc.constantFrom<TestCard>("visa", "visa", "3ds", "declined") })
      .map((s) => ({ t: "confirm", ...s })),
  },
  {
    type: "action",
    weight: 2,
    arbitrary: fc.record({ cart: index, pass: fc.boolean() }).map((s) => ({ t: "action", ...s })),
  },
  {
    type: "confirm-stale",
    weight: 1,
    arbitrary: index.map((cart) => ({ t: "confirm-stale", cart })),
  },
  {
    type: "complete",
    weight: 8,
    arbitrary: fc
      .record({ cart: index, stock: fc.boolean() })
      .map((s) => ({ t: "complete", ...s })),
  },
  { type: "capture", weight: 4, arbitrary: index.map((res) => ({ t: "capture", res })) },
  {
    type: "refund",
    weight: 4,
    arbitrary: fc
      .record({ res: index, part: fc.constantFrom<"half" | "rest">("half", "rest") })
      .map((s) => ({ t: "refund", ...s })),
  },
  {
    type: "refund-fails",
    weight: 1,
    arbitrary: fc
      .record({
        res: index,
        mode: fc.constantFrom<"error" | "failed" | "lost">("error", "failed", "lost"),
      })
      .map((s) => ({ t: "refund-fails", ...s })),
  },
  { type: "cancel-order", weight: 2, arbitrary: index.map((res) => ({ t: "cancel-order", res })) },
  {
    type: "collection",
    weight: 1,
    arbitrary: fc
      .record({ amount: fc.constantFrom(1500, 2500), provider: collectionProvider })
      .map((s) => ({ t: "collection", ...s })),
  },
  {
    type: "fault",
    weight: 1,
    arbitrary: fc
      .record({
        kind: fc.constantFrom<FaultKind>("500", "500", "reset", "reset", "429", "timeout"),
        when: fc.constantFrom<FaultWhen>("before", "after"),
        count: fc.constantFrom<1 | 2>(1, 2),
      })
      .map((s) => ({ t: "fault", ...s })),
  },
  {
    type: "outage",
    weight: 1,
    arbitrary: fc
      .constantFrom<"500" | "reset">("500", "reset")
      .map((kind) => ({ t: "outage", kind })),
  },
  {
    type: "checkout",
    weight: 6,
    arbitrary: fc.record({ cart: index, provider }).map((s) => ({ t: "checkout", ...s })),
  },
  { type: "region", weight: 2, arbitrary: index.map((cart) => ({ t: "region", cart })) },
  {
    type: "bank",
    weight: 3,
    arbitrary: fc
      .record({ cart: index, succeed: fc.constantFrom(true, true, false) })
      .map((s) => ({ t: "bank", ...s })),
  },
  {
    type: "dash-capture",
    weight: 3,
    arbitrary: fc
      .record({ res: index, part: fc.constantFrom<"full" | "partial">("full", "partial") })
      .map((s) => ({ t: "dash-capture", ...s })),
  },
  { type: "dash-cancel", weight: 2, arbitrary: index.map((res) => ({ t: "dash-cancel", res })) },
  {
    type: "dash-refund",
    weight: 3,
    arbitrary: fc
      .record({ res: index, part: fc.constantFrom<"half" | "rest">("half", "rest") })
      .map((s) => ({ t: "dash-refund", ...s })),
  },
  { type: "dispute", weight: 3, arbitrary: index.map((res) => ({ t: "dispute", res })) },
  {
    type: "dispute-close",
    weight: 3,
    arbitrary: fc
      .record({ res: index, outcome: fc.constantFrom<"won" | "lost">("won", "lost") })
      .map((s) => ({ t: "dispute-close", ...s })),
  },
]

export const STEP_TYPES: readonly StepType[] = [
  "cart",
  "total",
  "totals",
  "initiate",
  "update",
  "delete",
  "switch",
  "refresh",
  "confirm",
  "action",
  "confirm-stale",
  "complete",
  "capture",
  "refund",
  "refund-fails",
  "cancel-order",
  "collection",
  "fault",
  "outage",
  "checkout",
  "region",
  "bank",
  "dash-capture",
  "dash-cancel",
  "dash-refund",
  "dispute",
  "dispute-close",
]

/** How a step reads before it ran (targets unresolved). */
export function describeStep(step: Step): string {
  switch (step.t) {
    case "cart":
      return `new cart, total ${step.total}`
    case "total":
      return `cart ${step.cart}: total -> ${step.total}`
    case "totals":
      return `cart ${step.cart}: totals -> ${step.totals.join(" -> ")}`
    case "initiate":
      return `cart ${step.cart}: initiate ${step.provider}`
    case "update":
      return `cart ${step.cart}: update session`
    case "delete":
      return `cart ${step.cart}: delete session`
    case "switch":
      return `cart ${step.cart}: switch provider to ${step.provider}`
    case "refresh":
      return `cart ${step.cart}: refresh session`
    case "confirm":
      return `cart ${step.cart}: shopper confirms (${step.card})`
    case "action":
      return `cart ${step.cart}: shopper ${step.pass ? "passes" : "fails"} the action`
    case "confirm-stale":
      return `cart ${step.cart}: shopper confirms a stale intent`
    case "complete":
      return `cart ${step.cart}: complete${step.stock ? "" : " (out of stock)"}`
    case "capture":
      return `resource ${step.res}: capture`
    case "refund":
      return `resource ${step.res}: refund ${step.part}`
    case "refund-fails":
      return step.mode === "lost"
        ? `resource ${step.res}: refund made by Stripe, Medusa rolled back, then retried`
        : `resource ${step.res}: refund refused by Stripe (${step.mode}), then retried`
    case "cancel-order":
      return `resource ${step.res}: cancel order`
    case "collection":
      return `payment collection paid by two ${step.provider} sessions of ${step.amount}`
    case "fault":
      return `Stripe: next ${step.count} request(s) ${step.kind} ${step.when} the work`
    case "outage":
      return `Stripe: next request fails every retry (${step.kind} before the work)`
    case "checkout":
      return `cart ${step.cart}: shopper checks out in one go (${step.provider})`
    case "region":
      return `cart ${step.cart}: moves to another region (Medusa drops its sessions unseen by Stripe)`
    case "bank":
      return `cart ${step.cart}: the bank ${step.succeed ? "settles" : "rejects"} a processing debit`
    case "dash-capture":
      return `resource ${step.res}: captured in the Stripe dashboard (${step.part})`
    case "dash-cancel":
      return `resource ${step.res}: authorization canceled in the Stripe dashboard`
    case "dash-refund":
      return `resource ${step.res}: refunded in the Stripe dashboard (${step.part})`
    case "dispute":
      return `resource ${step.res}: the cardholder disputes a payment`
    case "dispute-close":
      return `resource ${step.res}: the bank closes a dispute (${step.outcome})`
  }
}
