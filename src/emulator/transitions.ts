import type Stripe from "stripe"

export type IntentStatus = Stripe.PaymentIntent.Status

export const INTENT_STATUSES: readonly IntentStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
  "processing",
  "requires_capture",
  "succeeded",
  "canceled",
]

/** Every status a PaymentIntent may move to from each status. */
export const INTENT_TRANSITIONS: Readonly<Record<IntentStatus, readonly IntentStatus[]>> = {
  requires_payment_method: [
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
  ],
  requires_confirmation: [
    "requires_payment_method",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
  ],
  requires_action: [
    "requires_payment_method",
    "requires_confirmation",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
  ],
  processing: ["requires_payment_method", "requires_capture", "succeeded"],
  requires_capture: ["succeeded", "canceled"],
  succeeded: [],
  canceled: [],
}

/** What can be done to a PaymentIntent, through the API or as the shopper / the bank. */
export type IntentAction =
  "update" | "confirm" | "capture" | "cancel" | "complete_action" | "fail_action" | "settle"

/** The statuses each action is allowed from, in the order Stripe lists them. */
export const ACTION_STATUSES: Readonly<Record<IntentAction, readonly IntentStatus[]>> = {
  update: ["requires_payment_method", "requires_confirmation", "requires_action"],
  confirm: ["requires_confirmation", "requires_payment_method", "requires_action"],
  capture: ["requires_capture"],
  cancel: [
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
  ],
  complete_action: ["requires_action"],
  fail_action: ["requires_action"],
  settle: ["processing"],
}

/**
 * Statuses the cancel action is refused from even though Stripe's message lists `processing`:
 * payments that are processing (bank debits) can no longer be stopped.
 */
const CANCEL_REFUSED: readonly IntentStatus[] = ["processing"]

export function canTransition(from: IntentStatus, to: IntentStatus): boolean {
  return from === to || INTENT_TRANSITIONS[from].includes(to)
}

export function canPerform(action: IntentAction, status: IntentStatus): boolean {
  if (action === "cancel" && CANCEL_REFUSED.includes(status)) return false
  return ACTION_STATUSES[action].includes(status)
}

/** Statuses in which fields other than metadata and description may still change. */
export function isUpdatable(status: IntentStatus): boolean {
  return canPerform("update", status)
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: IntentStatus,
    readonly to: IntentStatus
  ) {
    super(`A PaymentIntent cannot move from ${from} to ${to}`)
    this.name = "IllegalTransitionError"
  }
}

/** Guards every status change: a bug in the emulator must not produce an impossible intent. */
export function assertTransition(from: IntentStatus, to: IntentStatus): void {
  if (!canTransition(from, to)) {
    throw new IllegalTransitionError(from, to)
  }
}

function statusList(statuses: readonly IntentStatus[]): string {
  return statuses.join(", ")
}

/** Stripe's `payment_intent_unexpected_state` message for an action refused in `status`. */
export function unexpectedStateMessage(
  action: IntentAction,
  status: IntentStatus,
  field?: string
): string {
  switch (action) {
    case "cancel":
      if (CANCEL_REFUSED.includes(status)) {
        return (
          `You cannot cancel this PaymentIntent because it has a status of ${status}: ` +
          `its payment method does not allow canceling a payment that is already processing.`
        )
      }
      return (
        `You cannot cancel this PaymentIntent because it has a status of ${status}. ` +
        `Only a PaymentIntent with one of the following statuses may be canceled: ` +
        `${statusList(ACTION_STATUSES.cancel)}.`
      )
    case "capture":
      return (
        `This PaymentIntent could not be captured because it has a status of ${status}. ` +
        `Only a PaymentIntent with one of the following statuses may be captured: ` +
        `${statusList(ACTION_STATUSES.capture)}.`
      )
    case "confirm":
      if (status === "succeeded") {
        return "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed."
      }
      return (
        `You cannot confirm this PaymentIntent because it has a status of ${status}. ` +
        `Only a PaymentIntent with one of the following statuses may be confirmed: ` +
        `${statusList(ACTION_STATUSES.confirm)}.`
      )
    case "update": {
      const what = field ?? "parameters"
      return (
        `This PaymentIntent's ${what} could not be updated because it has a status of ${status}. ` +
        `You may only update the ${what} of a PaymentIntent with one of the following statuses: ` +
        `${statusList(ACTION_STATUSES.update)}.`
      )
    }
    case "complete_action":
    case "fail_action":
      return `This PaymentIntent has a status of ${status}; there is no pending customer action to ${
        action === "complete_action" ? "complete" : "fail"
      }.`
    case "settle":
      return `This PaymentIntent has a status of ${status}; only a processing payment can be settled.`
  }
}
