import { digest, idempotencyKeys } from "../../src/core/idempotency"

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
  it("derives the same create key for a retried request", () => {
    const params = { amount: 1000, currency: "eur", metadata: { resource_id: "cart_1" } }
    expect(idempotencyKeys.createIntent("stripe:cart_1", params)).toBe(
      idempotencyKeys.createIntent("stripe:cart_1", { ...params })
    )
  })

  it("derives a new create key once an earlier intent was replaced", () => {
    const params = { amount: 1000 }
    expect(idempotencyKeys.createIntent("stripe:cart_1", params, "pi_old")).not.toBe(
      idempotencyKeys.createIntent("stripe:cart_1", params)
    )
  })

  it("tells two equal partial refunds apart by what was refunded before", () => {
    expect(idempotencyKeys.refund("pi_1", 500, 0)).not.toBe(
      idempotencyKeys.refund("pi_1", 500, 500)
    )
  })

  it("keeps every key within Stripe's 255 characters", () => {
    const long = "cart_".padEnd(120, "x")
    expect(
      idempotencyKeys.createIntent(`stripe-przelewy24:${long}`, { a: 1 }, `pi_${long}`).length
    ).toBeLessThanOrEqual(255)
  })
})
