import { INTENT_STATUSES, isUpdatable, toSessionStatus } from "../../src/core/status-mapping"

describe("toSessionStatus", () => {
  it.each([
    ["requires_payment_method", "pending"],
    ["requires_confirmation", "pending"],
    ["requires_action", "requires_more"],
    ["processing", "pending"],
    ["requires_capture", "authorized"],
    ["succeeded", "authorized"],
    ["canceled", "canceled"],
  ])("maps %s to %s", (status, expected) => {
    expect(toSessionStatus({ status })).toBe(expected)
  })

  it("covers every PaymentIntent status Stripe documents", () => {
    expect([...INTENT_STATUSES].sort()).toEqual(
      [
        "canceled",
        "processing",
        "requires_action",
        "requires_capture",
        "requires_confirmation",
        "requires_payment_method",
        "succeeded",
      ].sort()
    )
  })

  it("maps requires_payment_method after a decline to error", () => {
    expect(
      toSessionStatus({
        status: "requires_payment_method",
        last_payment_error: { code: "card_declined" },
      })
    ).toBe("error")
  })

  it.each(["requires_source", "partially_funded", "", "SUCCEEDED"])(
    "maps the unknown status %p to error, never to something that lets an order through",
    (status) => {
      expect(toSessionStatus({ status })).toBe("error")
    }
  )
})

describe("isUpdatable", () => {
  it.each([
    ["requires_payment_method", true],
    ["requires_confirmation", true],
    ["requires_action", true],
    ["processing", false],
    ["requires_capture", false],
    ["succeeded", false],
    ["canceled", false],
  ])("says %s is updatable: %p", (status, expected) => {
    expect(isUpdatable(status)).toBe(expected)
  })
})
