import type { CallsResult, StepCalls } from "./calls"
import type { StepName } from "./shop"

/** Rows of the Stripe-calls table: the steps they sum and the minimum the flow needs. */
export interface CallRow {
  key: string
  label: string
  steps: StepName[]
  /** Target for a first-time and a returning customer; undefined where the row does not apply. */
  target: { firstTime?: number; returning?: number }
  targetText: string
  /** Only in flow A (first-time) or only in flow B (returning). */
  only?: "firstTime" | "returning"
}

export const CALL_ROWS: CallRow[] = [
  {
    key: "setup",
    label: "Cart, item, address, shipping options, shipping method (5 requests)",
    steps: ["create_cart", "add_item", "set_address", "list_shipping", "add_shipping"],
    target: { firstTime: 0, returning: 0 },
    targetText: "0",
  },
  {
    key: "create_sessions",
    label: "Create payment sessions",
    steps: ["create_sessions"],
    target: {},
    targetText: "counted with the next row",
  },
  {
    key: "select_provider",
    label: "Select provider (sessions + selection together)",
    steps: ["create_sessions", "select_provider"],
    target: { firstTime: 2, returning: 1 },
    targetText: "1 create (+1 customer, first-time only)",
  },
  {
    key: "update_billing",
    label: "Cart update 1: billing address (amount unchanged)",
    steps: ["update_billing"],
    target: { firstTime: 0, returning: 0 },
    targetText: "0",
  },
  {
    key: "update_quantity",
    label: "Cart update 2: quantity 1 → 2 (amount changes)",
    steps: ["update_quantity"],
    target: { firstTime: 1, returning: 1 },
    targetText: "1",
  },
  {
    key: "update_address",
    label: "Cart update 3: shipping address line 2 (amount unchanged)",
    steps: ["update_address"],
    target: { firstTime: 0, returning: 0 },
    targetText: "0",
  },
  {
    key: "complete",
    label: "Complete cart (authorize + payment + order)",
    steps: ["complete"],
    target: { firstTime: 1, returning: 1 },
    targetText: "1",
  },
  {
    key: "capture",
    label: "Capture (admin)",
    steps: ["capture"],
    target: { firstTime: 1 },
    targetText: "1",
    only: "firstTime",
  },
  {
    key: "refund",
    label: "Partial refund (admin)",
    steps: ["refund"],
    target: { firstTime: 1 },
    targetText: "1",
    only: "firstTime",
  },
  {
    key: "cancel",
    label: "Cancel order (admin, authorized payment)",
    steps: ["cancel"],
    target: { returning: 1 },
    targetText: "1",
    only: "returning",
  },
]

/** The storefront part of a checkout: everything up to and including complete. */
export const CHECKOUT_STEPS: StepName[] = [
  "create_cart",
  "add_item",
  "set_address",
  "list_shipping",
  "add_shipping",
  "create_sessions",
  "select_provider",
  "update_billing",
  "update_quantity",
  "update_address",
  "complete",
]

export const CHECKOUT_TARGET = { firstTime: 4, returning: 3 }

export function callsOf(flow: StepCalls[], steps: StepName[]): number | undefined {
  const matching = flow.filter((s) => steps.includes(s.step))
  if (matching.length === 0) return undefined
  return matching.reduce((acc, s) => acc + s.calls, 0)
}

export function requestsOf(flow: StepCalls[], steps: StepName[]): string[] {
  return flow.filter((s) => steps.includes(s.step)).flatMap((s) => s.requests)
}

/** Rows where this plugin makes more calls than the target, with the requests it made. */
export function callFindings(calls: CallsResult): string[] {
  const findings: string[] = []
  for (const row of CALL_ROWS) {
    for (const flow of ["firstTime", "returning"] as const) {
      const target = row.target[flow]
      if (target === undefined) continue
      const made = callsOf(calls[flow], row.steps)
      if (made !== undefined && made > target) {
        const who = flow === "firstTime" ? "first-time customer" : "returning customer"
        findings.push(
          `Stripe calls, "${row.label}" (${who}): ${made} calls, target ${target}. Requests: ${requestsOf(calls[flow], row.steps).join("; ")}`
        )
      }
    }
  }
  return findings
}
