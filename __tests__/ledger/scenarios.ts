import type { History } from "./support/history"

/**
 * Histories of money moving at Stripe without Medusa, each with what the webhook's
 * reconciliation must have done (a line of the log) besides keeping the ledger invariant.
 */
export const SCENARIOS: { name: string; history: History; expect: RegExp }[] = [
  {
    name: "a SEPA debit settled after a region change dropped its session is given back",
    history: {
      autoCapture: false,
      steps: [
        { t: "initiate", cart: 0, provider: "sepa" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "switch", cart: 0, provider: "card" },
        { t: "region", cart: 0 },
        { t: "checkout", cart: 0, provider: "card" },
        { t: "bank", cart: 0, succeed: true },
      ],
    },
    expect: /the bank settles .* fixed: refunded 25\.00 EUR .* completed with another payment/,
  },
  {
    name: "a SEPA debit whose session was dropped and that settles at the end is given back",
    history: {
      autoCapture: true,
      steps: [
        { t: "initiate", cart: 0, provider: "sepa" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "region", cart: 0 },
      ],
    },
    expect: /fixed: refunded 25\.00 EUR .* no payment session of cart_\w+ holds it/,
  },
  {
    name: "a partial capture in the dashboard books what Stripe received",
    history: {
      autoCapture: false,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "dash-capture", res: 0, part: "partial" },
        { t: "refund", res: 0, part: "rest" },
      ],
    },
    expect: /captured at Stripe \(12\.50 EUR\) and now in Medusa/,
  },
  {
    name: "an authorization canceled in the dashboard cancels the payment",
    history: {
      autoCapture: false,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "dash-cancel", res: 0 },
        { t: "capture", res: 0 },
      ],
    },
    expect: /fixed: payment pay_\d+ canceled: the authorization was canceled at Stripe/,
  },
  {
    name: "a dashboard refund is booked once, and the admin refunds the rest",
    history: {
      autoCapture: true,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "dash-refund", res: 0, part: "half" },
        { t: "refund", res: 0, part: "rest" },
      ],
    },
    expect: /fixed: refund re_\w+ \(12\.50 EUR\) booked on order/,
  },
  {
    name: "a lost dispute is booked as money given back",
    history: {
      autoCapture: true,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "dispute", res: 0 },
        { t: "refund", res: 0, part: "half" },
        { t: "dispute-close", res: 0, outcome: "lost" },
      ],
    },
    expect: /fixed: lost dispute dp_\w+ \(25\.00 EUR\) booked on order/,
  },
  {
    name: "a won dispute leaves the payment as it was",
    history: {
      autoCapture: false,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "capture", res: 0 },
        { t: "dispute", res: 0 },
        { t: "dispute-close", res: 0, outcome: "won" },
      ],
    },
    expect: /fixed: disputes noted on order \w+: dp_\w+ won/,
  },
]
