import { StripeEmulator } from "../../src/emulator"
import { runHistory } from "./support/history"
import { Shop } from "./support/shop"
import { REGRESSIONS } from "./regressions"
import { SCENARIOS } from "./scenarios"

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

describe("ledger scenarios: money moved at Stripe without Medusa is reconciled", () => {
  let emulator: StripeEmulator
  let shop: Shop

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    shop = new Shop(emulator, "s")
  })

  afterAll(async () => {
    await emulator.stop()
  })

  it.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
    "%s",
    async (_name, scenario) => {
      const violations = await runHistory(shop, scenario.history)
      expect({ violations, log: violations.length > 0 ? shop.log : [] }).toEqual({
        violations: [],
        log: [],
      })
      expect(shop.log.join("\n")).toMatch(scenario.expect)
    }
  )
})
