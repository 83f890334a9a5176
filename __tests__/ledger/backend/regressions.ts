import type { Step } from "./steps"

/**
 * Histories through the backend replayed as plain tests: the money-safety findings as a shopper
 * and an admin reach them over HTTP, and every history the property test ever shrunk. A new
 * counterexample from `npm run test:ledger` is added here as printed.
 */
export const BACKEND_REGRESSIONS: { name: string; steps: Step[] }[] = [
  {
    name: "a session deleted, switched and refreshed after completion keeps the order's money",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: true, webhook: true },
      { t: "delete", cart: 0 },
      { t: "select", cart: 0, provider: "stripe-ideal" },
      { t: "refresh", cart: 0 },
      { t: "capture", order: 0 },
    ],
  },
  {
    name: "a total back at an earlier value after a paid session is charged once",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "quantity", cart: 0, quantity: 2 },
      { t: "sessions", cart: 0 },
      { t: "quantity", cart: 0, quantity: 1 },
      { t: "sessions", cart: 0 },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: false },
    ],
  },
  {
    name: "a backend killed during a completion leaves one order for one authorization",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "restart", during: "complete" },
      { t: "deliver", how: "duplicated" },
      { t: "complete", cart: 0, twice: false, webhook: false },
    ],
  },
  {
    name: "a dashboard partial capture, a refund and a lost dispute are booked once each",
    steps: [
      { t: "cart", quantity: 2, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: false },
      { t: "dash-capture", order: 0, part: "partial" },
      { t: "deliver", how: "reordered" },
      { t: "refund", order: 0, part: "half" },
      { t: "dispute", order: 0 },
      { t: "dispute-close", order: 0, outcome: "lost" },
    ],
  },
  {
    name: "an order edit paid by two sessions and one canceled once authorized",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: true },
      { t: "edit", order: 0, sessions: 2, upto: "completed" },
      { t: "edit", order: 0, sessions: 1, upto: "authorized" },
      { t: "capture", order: 0 },
    ],
  },
  {
    name: "a completed cart's quantity cannot change: a clear 409, and the order keeps its books",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: true },
      { t: "quantity", cart: 0, quantity: 2 },
      { t: "capture", order: 0 },
      { t: "refund", order: 0, part: "rest" },
    ],
  },
  {
    name: "a swap's additional payment by card, processed, then the order refunded",
    steps: [
      { t: "cart", quantity: 2, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: true },
      { t: "capture", order: 0 },
      { t: "swap", order: 0, pay: "card", then: "process" },
      { t: "deliver", how: "duplicated" },
      { t: "refund", order: 0, part: "rest" },
    ],
  },
  {
    name: "a swap whose shopper left after 3-D Secure, completed by the webhook, then canceled",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "confirm", cart: 0, card: "visa" },
      { t: "complete", cart: 0, twice: false, webhook: false },
      { t: "capture", order: 0 },
      { t: "swap", order: 0, pay: "3ds, gone", then: "leave" },
      { t: "deliver", how: "reordered" },
      { t: "swap", order: 0, pay: "card", then: "cancel" },
    ],
  },
  {
    name: "a SEPA debit settling for a cart whose stock ran out is returned and booked once",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe-sepa-debit" },
      { t: "stock", available: false },
      { t: "confirm", cart: 0, card: "visa" },
    ],
  },
  {
    name: "a SEPA debit confirmed after stock ran out, settled with an order edit and a swap tried",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "select", cart: 2, provider: "stripe-sepa-debit" },
      { t: "stock", available: false },
      { t: "confirm", cart: 2, card: "visa" },
      { t: "refresh", cart: 1 },
      { t: "confirm", cart: 1, card: "visa" },
      { t: "cart", quantity: 2, provider: "stripe" },
      { t: "sessions", cart: 1 },
      { t: "edit", order: 1, sessions: 1, upto: "completed" },
      { t: "swap", order: 1, pay: "card", then: "process" },
    ],
  },
  {
    name: "a cart whose completion the backend was killed in takes a new quantity",
    steps: [
      { t: "cart", quantity: 1, provider: "stripe" },
      { t: "restart", during: "complete" },
      { t: "quantity", cart: 0, quantity: 1 },
      { t: "capture", order: 1 },
    ],
  },
]
