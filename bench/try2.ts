import { buildSeedData, sleep } from "../__tests__/support"
import { setupEnvironment, startConfig, type ConfigName } from "./lib/setup"
import { checkoutOnce, openShop, runPool, type StepName } from "./lib/shop"

async function main(): Promise<void> {
  const bench = await setupEnvironment({
    seed: buildSeedData({ providers: ["stripe", "manual"], inventory: 1_000_000 }),
  })
  try {
    for (const name of (process.env.CONFIGS ?? "manual").split(",") as ConfigName[]) {
      const running = await startConfig(bench, bench.configs[name])
      try {
        const shop = await openShop(running.store, running.admin, bench.emulator, running.config.provider)
        const c = Number(process.env.C ?? 16)
        const current = new Map<number, StepName>()
        const p = runPool(c * 3, c, (i) =>
          checkoutOnce(shop, {
            email: `w${i}-${name}@example.com`,
            observer: { before: (s) => void current.set(i, s), after: () => undefined },
          })
        )
        await sleep(25000)
        console.log("steps in flight", JSON.stringify([...current.entries()]))
        const rows = await bench.db.query(
          "select state, count(*)::int as n, min(left(query, 120)) as q from pg_stat_activity where datname = current_database() group by state"
        )
        console.log(rows)
        const r = await p
        console.log(r.errors.length, r.elapsedMs)
        console.log(r.errors.slice(0,3))
      } finally {
        await running.backend.stop()
      }
    }
  } finally {
    await bench.shutdown()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
