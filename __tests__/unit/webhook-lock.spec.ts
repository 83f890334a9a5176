import { advisoryLockKeys, lockPollDelay } from "../../src/core/webhook-lock"

describe("advisoryLockKeys", () => {
  it("gives two int4 keys, the same for the same name", () => {
    const keys = advisoryLockKeys("cart:cart_01")
    expect(keys).toEqual(advisoryLockKeys("cart:cart_01"))
    for (const key of keys) {
      expect(Number.isInteger(key)).toBe(true)
      expect(key).toBeGreaterThanOrEqual(-(2 ** 31))
      expect(key).toBeLessThan(2 ** 31)
    }
  })

  it("differs between names", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i += 1) {
      seen.add(advisoryLockKeys(`cart:cart_${i}`).join(","))
    }
    expect(seen.size).toBe(1000)
    expect(advisoryLockKeys("cart:x")).not.toEqual(advisoryLockKeys("paycol:x"))
  })
})

describe("lockPollDelay", () => {
  it.each([
    [0, 20],
    [1, 40],
    [2, 80],
    [3, 160],
    [4, 250],
    [10, 250],
  ])("attempt %i waits about %i ms", (attempt, base) => {
    expect(lockPollDelay(attempt, () => 0.5)).toBe(base)
    expect(lockPollDelay(attempt, () => 0)).toBe(Math.round(base * 0.75))
    expect(lockPollDelay(attempt, () => 1)).toBe(Math.round(base * 1.25))
  })
})
