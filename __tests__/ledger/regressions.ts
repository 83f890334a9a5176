import type { History } from "./support/history"

/**
 * Histories that once broke the ledger invariant, shrunk, replayed as plain tests. Each names
 * what went wrong; a new counterexample from `npm run test:ledger` is added here as printed.
 */
export const REGRESSIONS: { name: string; history: History }[] = [
  {
    name: "a captured session Medusa drops on a region change gives its money back",
    history: {
      autoCapture: true,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "region", cart: 0 },
      ],
    },
  },
  {
    name: "an authorized session Medusa drops on a region change is released",
    history: {
      autoCapture: false,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "region", cart: 0 },
      ],
    },
  },
  {
    name: "two collection sessions of equal amounts get an intent each",
    history: {
      autoCapture: false,
      steps: [{ t: "collection", amount: 1500, provider: "card" }],
    },
  },
  {
    name: "a session refreshed after an automatic capture gets a new intent, not the refunded one",
    history: {
      autoCapture: true,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "refresh", cart: 0 },
        { t: "complete", cart: 0, stock: true },
      ],
    },
  },
  {
    name: "a session deleted after an automatic capture and made again gets a new intent",
    history: {
      autoCapture: true,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "delete", cart: 0 },
        { t: "initiate", cart: 0, provider: "card" },
        { t: "complete", cart: 0, stock: true },
      ],
    },
  },
  {
    name: "a total that returns to an earlier value (A -> B -> A -> B) moves the intent every time",
    history: {
      autoCapture: false,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "total", cart: 0, total: 4000 },
        { t: "total", cart: 0, total: 2500 },
        { t: "total", cart: 0, total: 4000 },
      ],
    },
  },
  {
    name: "a completion after a stock failure refunded an automatic capture is not authorized",
    history: {
      autoCapture: true,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "complete", cart: 0, stock: false },
        { t: "complete", cart: 0, stock: true },
      ],
    },
  },
  {
    name: "an iDEAL payment refunded after a stock failure does not complete the cart again",
    history: {
      autoCapture: false,
      steps: [
        { t: "initiate", cart: 0, provider: "ideal" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "action", cart: 0, pass: true },
        { t: "complete", cart: 0, stock: false },
        { t: "complete", cart: 0, stock: true },
      ],
    },
  },
  {
    name: "deleting the session of a completed cart leaves its payment's authorization alone",
    history: {
      autoCapture: false,
      steps: [
        { t: "initiate", cart: 0, provider: "card" },
        { t: "confirm", cart: 0, card: "visa" },
        { t: "complete", cart: 0, stock: true },
        { t: "delete", cart: 0 },
      ],
    },
  },
  {
    name: "a collection whose authorization failed part-way books nothing, and its retry books both",
    history: {
      autoCapture: false,
      steps: [
        { t: "fault", kind: "500", when: "after", count: 2 },
        { t: "outage", kind: "500" },
        { t: "collection", amount: 1500, provider: "card" },
      ],
    },
  },
  {
    name: "a settled debit refunded when its completion ran out of stock is noted on the canceled payment",
    history: {
      autoCapture: false,
      steps: [
        { t: "checkout", cart: 0, provider: "sepa" },
        { t: "bank", cart: 0, succeed: true },
        { t: "complete", cart: 0, stock: false },
      ],
    },
  },
  {
    name: "a captured order canceled has its refund booked once the grace period is over",
    history: {
      autoCapture: false,
      steps: [
        { t: "checkout", cart: 0, provider: "card" },
        { t: "capture", res: 0 },
        { t: "cancel-order", res: 0 },
      ],
    },
  },
]
