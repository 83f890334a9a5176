import { buildSeedData } from "../__tests__/support"
import { setupEnvironment, startConfig, rssMiB, type ConfigName } from "./lib/setup"
import { checkoutOnce, openShop, runPool } from "./lib/shop"

async function main(): Promise<void> {
  const bench = await setupEnvironment({
    seed: buildSeedData({ providers: ["stripe", "manual"], inventory: 1_000_000 }),
  })
  try {
    for (const name of (process.env.CONFIGS ?? "ours,manual").split(",") as ConfigName[]) {
      const running = await startConfig(bench, bench.configs[name])
      try {
        const shop = await openShop(running.store, running.admin, bench.emulator, running.config.provider)
        const n = Number(process.env.N ?? 64)
        const c = Number(process.env.C ?? 16)
        await runPool(16, c, (i) => checkoutOnce(shop, { email: `w${i}-${name}@example.com` }))
        console.log(name, "rss", rssMiB(running.backend.pid))
        const r = await runPool(n, c, (i) => checkoutOnce(shop, { email: `t${i}-${name}@example.com` }))
        console.log(name, "n", n, "c", c, "s", r.elapsedMs / 1000, "per s", n / (r.elapsedMs / 1000), "errors", r.errors.length, r.errors.slice(0, 3))
        console.log(name, "rss", rssMiB(running.backend.pid))
      } catch (err) {
        console.log(running.backend.logs().slice(-60).join("\n"))
        throw err
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
