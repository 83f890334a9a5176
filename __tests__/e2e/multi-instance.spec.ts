import fs from "fs"
import path from "path"

import {
  bootCluster,
  runMultiInstanceCheckouts,
  type Cluster,
  type MultiInstanceRun,
} from "../support/multi-instance"

/**
 * Four backend processes on one database with the Redis event bus: two `worker_mode: "server"`
 * instances take the storefront, the admin and Stripe's webhooks (each delivery to one of them
 * at random), two `worker_mode: "worker"` instances run the subscribers. Shoppers pay at once;
 * each event is delivered twice, in batches, newest first.
 *
 *   MULTI_INSTANCE_CHECKOUTS   shoppers (default 60; the bench runs 200)
 *   MULTI_INSTANCE_CAPTURE     "automatic" for STRIPE_CAPTURE=true on every instance
 *   MULTI_INSTANCE_SEED        seed of the random choices (server per request and delivery)
 */
const CHECKOUTS = Number(process.env.MULTI_INSTANCE_CHECKOUTS || 60)
const AUTOMATIC = process.env.MULTI_INSTANCE_CAPTURE === "automatic"
const SEED = Number(process.env.MULTI_INSTANCE_SEED || 7)

jest.setTimeout(300_000)

describe(`${CHECKOUTS} shoppers on two server and two worker instances`, () => {
  let cluster: Cluster | undefined
  let run: MultiInstanceRun

  const log = (line: string) => {
    if (process.env.E2E_VERBOSE === "1") process.stdout.write(`[multi-instance] ${line}\n`)
  }

  beforeAll(async () => {
    cluster = await bootCluster({ capture: AUTOMATIC, seed: SEED, log })
    run = await runMultiInstanceCheckouts(cluster, { checkouts: CHECKOUTS, log })
    log(JSON.stringify({ ...run, errorLogs: run.errorLogs.length }))
  }, 300_000)

  afterAll(async () => {
    const dump = process.env.E2E_LOG_DIR
    if (dump && cluster) {
      fs.mkdirSync(dump, { recursive: true })
      for (const [index, backend] of [...cluster.servers, ...cluster.workers].entries()) {
        fs.writeFileSync(path.join(dump, `multi-instance-${index}.log`), backend.logs().join("\n"))
      }
    }
    await cluster?.shutdown()
  })

  it("runs the workers on Redis and leaves the servers without an event worker", () => {
    for (const backend of [...cluster!.servers, ...cluster!.workers]) {
      expect(backend.logs().join("\n")).not.toMatch(/Local Event Bus installed/)
    }
    // Stripe reached both servers.
    expect(run.deliveries.perServer.every((n) => n > 0)).toBe(true)
  })

  it("answers every request, none with a 5xx", () => {
    expect(run.hung).toEqual([])
    expect(run.fiveHundreds).toEqual([])
    expect(run.failures).toEqual([])
    expect(run.paid).toBe(CHECKOUTS)
    // Every delivery the proxy passed on was acknowledged.
    expect(Object.keys(run.deliveries.statuses)).toEqual(["200"])
    expect(run.deliveries.duplicates).toBeGreaterThan(0)
  })

  it("makes exactly one order per paid cart", () => {
    expect(run.wrongOrders).toEqual([])
    expect(run.ordersPerCart).toEqual({ 1: CHECKOUTS })
    expect(run.endings["webhook-only"]).toBeGreaterThan(0)
  })

  it("captures each payment at most once", () => {
    expect(run.doubleCaptures).toEqual([])
    expect(run.uncaptured).toEqual([])
    if (AUTOMATIC) {
      expect(run.captureCalls).toBe(0)
    } else {
      expect(run.captureCalls).toBe(Math.ceil(run.paid / 2))
    }
  })

  it("processes every event, none left failed", () => {
    expect(run.webhookEvents.failed ?? 0).toBe(0)
    expect(run.webhookEvents.received ?? 0).toBe(0)
    expect(run.webhookEvents.processing ?? 0).toBe(0)
  })
})
