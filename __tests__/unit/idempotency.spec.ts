import { digest, idempotencyKeys, newOperationId } from "../../src/core/idempotency"

describe("digest", () => {
  it("ignores key order", () => {
    expect(digest({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(digest({ b: { d: [1, 2], c: 2 }, a: 1 }))
  })

  it("tells different parameters apart", () => {
    expect(digest({ amount: 1000 })).not.toBe(digest({ amount: 1001 }))
  })

  it("treats an absent field like an undefined one", () => {
    expect(digest({ amount: 1, customer: undefined })).toBe(digest({ amount: 1 }))
  })
})

describe("idempotencyKeys", () => {
  it("names the operation, so a new operation with equal parameters gets a new key", () => {
    expect(idempotencyKeys.createIntent("stripe", "cart_1", newOperationId())).not.toBe(
      idempotencyKeys.createIntent("stripe", "cart_1", newOperationId())
    )
    expect(idempotencyKeys.updateIntent("pi_1", newOperationId())).not.toBe(
      idempotencyKeys.updateIntent("pi_1", newOperationId())
    )
    expect(idempotencyKeys.refund("pi_1", newOperationId())).not.toBe(
      idempotencyKeys.refund("pi_1", newOperationId())
    )
  })

  it("gives a retry of one operation the same key", () => {
    const operation = newOperationId()
    expect(idempotencyKeys.refund("pi_1", operation)).toBe(
      idempotencyKeys.refund("pi_1", operation)
    )
    expect(idempotencyKeys.captureIntent("pi_1", operation)).toBe(
      idempotencyKeys.captureIntent("pi_1", operation)
    )
  })

  it("keeps one customer per Medusa customer until a stale one is replaced", () => {
    const params = { email: "a@example.com" }
    expect(idempotencyKeys.createCustomer("cus_m1", params)).toBe(
      idempotencyKeys.createCustomer("cus_m1", { ...params })
    )
    expect(idempotencyKeys.createCustomer("cus_m1", params, "cus_stale")).not.toBe(
      idempotencyKeys.createCustomer("cus_m1", params)
    )
  })

  it("makes a customer anew once the parameters of a failed create changed", () => {
    expect(idempotencyKeys.createCustomer("cus_m1", { email: "typo@example" })).not.toBe(
      idempotencyKeys.createCustomer("cus_m1", { email: "a@example.com" })
    )
  })

  it("keeps every key within Stripe's 255 characters", () => {
    const long = "cart_".padEnd(240, "x")
    expect(
      idempotencyKeys.createIntent("stripe-przelewy24", long, newOperationId()).length
    ).toBeLessThanOrEqual(255)
  })
})
