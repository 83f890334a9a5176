import Stripe from "stripe"
import { StripeEmulator } from "../../src/emulator"
import {
  ORPHAN_SWEEP_BATCH,
  ORPHAN_SWEEP_PAGES,
  sweepRecentPayments,
  type OrphanWalk,
  type SweepDeps,
} from "../../src/reconcile/sweep"
import { connectDb, createTestDatabase, type Db, type TestDatabase } from "../support/db"
import { TEST_API_KEY } from "../support/processor"

/**
 * The reconciliation sweep against the emulator and a PostgreSQL `payment` table shaped like
 * Medusa's (the columns the sweep reads): which intents it hands to the reconciler.
 */
describe("sweepRecentPayments", () => {
  let emulator: StripeEmulator
  let stripe: Stripe
  let database: TestDatabase
  let db: Db

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    const { host, port, protocol } = emulator.stripeConfig()
    stripe = new Stripe(TEST_API_KEY, { host, port, protocol, apiVersion: "2024-04-10" })
    database = await createTestDatabase("medusa_stripe_sweep")
    db = await connectDb(database.url)
    await db.query(
      `CREATE TABLE payment (
         id text PRIMARY KEY,
         provider_id text NOT NULL,
         data jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         canceled_at timestamptz
       )`
    )
  })

  afterAll(async () => {
    await db?.close()
    await database?.drop()
    await emulator?.stop()
  })

  beforeEach(async () => {
    emulator.reset()
    await db.query("DELETE FROM payment")
  })

  /** An authorized intent of a cart; booked gives it a live Medusa payment. */
  async function authorizedIntent(n: number, booked: boolean): Promise<string> {
    const intent = await stripe.paymentIntents.create({
      amount: 1000 + n,
      currency: "eur",
      capture_method: "manual",
      payment_method_types: ["card"],
      metadata: { resource_id: `cart_${n}`, cart_id: `cart_${n}` },
    })
    await emulator.confirmPaymentIntent(intent.id, { payment_method: "pm_card_visa" })
    if (booked) {
      // Looked at just now: the sweep of recent payments leaves it for later runs.
      await db.query(
        `INSERT INTO payment (id, provider_id, data) VALUES ($1, 'stripe', jsonb_build_object('id', $2::text, 'reconciled_at', $3::bigint))`,
        [`pay_${n}`, intent.id, Date.now()]
      )
    }
    return intent.id
  }

  function deps(walk: OrphanWalk, reconciled: string[]): SweepDeps {
    return {
      stripe,
      manager: {
        query: <T>(sql: string, params?: unknown[]) => db.query(sql, params) as Promise<T>,
      },
      logger: { info: () => undefined, warn: () => undefined },
      // One sweeper here: the lock is granted at once (its waiting is tested elsewhere).
      acquireLock: async (name) => ({
        name,
        client: {
          query: async <R>(sql: string, params?: unknown[]) => ({
            rows: await db.query<R>(sql, params),
            rowCount: null,
          }),
        },
        release: async () => undefined,
      }),
      reconcile: async (intentId) => {
        reconciled.push(intentId)
        return { payment_intent: intentId, fixed: [], flagged: [], waiting: [] }
      },
      orphanWalk: walk,
    }
  }

  it("hands every held intent no live payment rests on to the reconciler, however many intents are newer", async () => {
    // The orphans are the oldest; more intents than one run reads were made after them.
    const perRun = ORPHAN_SWEEP_BATCH * ORPHAN_SWEEP_PAGES
    const orphans: string[] = []
    for (let n = 0; n < 3; n++) orphans.push(await authorizedIntent(n, false))
    for (let n = 3; n < perRun + 20; n++) await authorizedIntent(n, true)

    const walk: OrphanWalk = {}
    const reconciled: string[] = []
    await sweepRecentPayments(deps(walk, reconciled), 0)
    expect(reconciled).toEqual([])
    expect(walk.startingAfter).toMatch(/^pi_/)

    await sweepRecentPayments(deps(walk, reconciled), 0)
    expect(reconciled.sort()).toEqual([...orphans].sort())
    // The walk reached the end of the window: the next run starts from the newest again.
    expect(walk.startingAfter).toBeUndefined()
  }, 60_000)

  it("skips intents a live Medusa payment rests on and intents holding no money", async () => {
    const booked = await authorizedIntent(1, true)
    const orphan = await authorizedIntent(2, false)
    const unpaid = await stripe.paymentIntents.create({
      amount: 500,
      currency: "eur",
      payment_method_types: ["card"],
      metadata: { resource_id: "cart_3" },
    })

    const reconciled: string[] = []
    await sweepRecentPayments(deps({}, reconciled), 0)

    expect(reconciled).toEqual([orphan])
    expect(reconciled).not.toContain(booked)
    expect(reconciled).not.toContain(unpaid.id)
  })

  it("starts from the newest intent when the one it stopped at is gone", async () => {
    const orphan = await authorizedIntent(1, false)
    const walk: OrphanWalk = { startingAfter: "pi_no_longer_listed" }
    const reconciled: string[] = []

    await sweepRecentPayments(deps(walk, reconciled), 0)

    expect(reconciled).toEqual([orphan])
    expect(walk.startingAfter).toBeUndefined()
  })
})
