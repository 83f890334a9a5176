import { StripeEmulator } from "../../src/emulator"
import { runHistory } from "./support/history"
import { Shop } from "./support/shop"
import { REGRESSIONS } from "./regressions"

describe("ledger regressions: recorded histories keep what Stripe holds equal to what Medusa books", () => {
  let emulator: StripeEmulator
  let shop: Shop

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    shop = new Shop(emulator, "r")
  })

  afterAll(async () => {
    await emulator.stop()
  })

  it("keeps at least one recorded history", () => {
    expect(REGRESSIONS.length).toBeGreaterThan(0)
  })

  it.each(REGRESSIONS.map((regression) => [regression.name, regression.history] as const))(
    "%s",
    async (_name, history) => {
      const violations = await runHistory(shop, history)
      expect({ violations, log: violations.length > 0 ? shop.log : [] }).toEqual({
        violations: [],
        log: [],
      })
    }
  )
})
