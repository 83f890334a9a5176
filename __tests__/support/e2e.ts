import { randomBytes } from "crypto"

import { Env, ScratchApp, createScratchApp, migrateAndSeed, packPlugin } from "./app"
import { Backend, freePort, startBackend } from "./backend"
import { checkout, completeCart, intentIdOf } from "./checkout"
import { Db, TestDatabase, connectDb, createTestDatabase, dropStaleTestDatabases } from "./db"
import { StripeEmulator, addWebhookEndpoint, startEmulator } from "./emulator"
import { AdminClient, ApiClient, adminClient, storeClient } from "./http"
import { clearRedisNamespace, redisServerUrl } from "./redis"
import { SeedData, buildSeedData } from "./seed-data"
import type { Order } from "./store-types"

/** The plugin's webhook route. */
export const WEBHOOK_PATH = "/stripe/hooks"

/** The run's Stripe emulator, for specs that booted with `emulator: true`. */
export function emulatorOf(e2e: E2E): StripeEmulator {
  if (!e2e.emulator) {
    throw new Error("The Stripe emulator did not start: run `npm run build`")
  }
  return e2e.emulator
}

/**
 * A shopper's order paid by card in the EUR region (the `stripe` provider, authorized and not
 * captured unless the backend captures automatically), and the intent it rests on.
 */
export async function cardOrder(e2e: E2E): Promise<{ order: Order; intentId: string }> {
  const cart = await checkout(e2e.store, { region: "eur", provider: "stripe" })
  const intentId = intentIdOf(cart.payment_session)
  await emulatorOf(e2e).confirmPaymentIntent(intentId, { payment_method: "pm_card_visa" })
  const completed = await completeCart(e2e.store, cart.id)
  if (completed.type !== "order") throw new Error(`No order: ${JSON.stringify(completed)}`)
  return { order: completed.data, intentId }
}

/**
 * Runs `run` with the variant out of stock, then gives it back the seed's stock (1000), even
 * when `run` fails, so later tests of the spec can still sell it.
 */
export async function withVariantOutOfStock<T>(
  e2e: E2E,
  variantId: string,
  run: () => Promise<T>
): Promise<T> {
  await e2e.db.query("UPDATE product_variant SET inventory_quantity = 0 WHERE id = $1", [variantId])
  try {
    return await run()
  } finally {
    await e2e.db.query("UPDATE product_variant SET inventory_quantity = 1000 WHERE id = $1", [
      variantId,
    ])
  }
}

export interface BootE2EOptions {
  /** Extra environment for every Medusa process (e.g. `{ STRIPE_CAPTURE: "true" }`, REDIS_URL). */
  env?: Env
  /** Seed data; default `buildSeedData()` (every Stripe provider the plugin registers). */
  seed?: SeedData
  /**
   * Start the Stripe emulator and point the backend at it: `"auto"` (default) when it has been
   * built, `true` to require it, `false` never.
   */
  emulator?: boolean | "auto"
  /** Register `<backend>/stripe/hooks` on the emulator for the first backend (default true). */
  webhooks?: boolean
  /** Start a backend (default true); otherwise call `e2e.startBackend()`. */
  startBackend?: boolean
  /**
   * Back the event bus and cache with Redis (`true`: REDIS_URL of the test environment, or
   * redis://127.0.0.1:6379; a string: that URL). Keys are namespaced per run and deleted at
   * shutdown. Default: local event bus and in-memory cache.
   */
  redis?: boolean | string
  /** Log the timings on stdout (default when E2E_VERBOSE=1). */
  logTimings?: boolean
}

export interface E2ETimings {
  database: number
  pack: number
  app: number
  migrate: number
  seed: number
  boot: number
  total: number
}

export interface StartAnotherOptions {
  env?: Env
  port?: number
  /** Register this backend's webhook route on the emulator (default: for the first only). */
  registerWebhook?: boolean
}

export interface E2E {
  database: TestDatabase
  app: ScratchApp
  /** pg client on the test database, for assertions. */
  db: Db
  /** The first backend (undefined when `startBackend: false`, until `startBackend()`). */
  backend: Backend
  backends: Backend[]
  store: ApiClient
  /** Logged in as the seeded admin. */
  admin: AdminClient
  emulator?: StripeEmulator
  /** The API key and webhook secret the backends were given (to scan logs for leaks). */
  secrets: { apiKey: string; webhookSecret: string }
  /** Environment every backend of this run gets on top of the app's. */
  env: Env
  /** Payment providers the installed plugins register. */
  paymentProviders: string[]
  timings: E2ETimings
  /** Starts another backend on the same app and database. */
  startBackend(options?: StartAnotherOptions): Promise<Backend>
  /** Stops backends and emulator, drops the database, removes the app directory. */
  shutdown(): Promise<void>
}

/**
 * Everything an end-to-end spec needs, once per spec file (call in `beforeAll` with a long
 * timeout, and `shutdown()` in `afterAll`): a fresh database, a Medusa app with the plugin
 * installed from its npm pack tarball, migrations, seed data, the Stripe emulator when built,
 * and a backend.
 */
export async function bootE2E(options: BootE2EOptions = {}): Promise<E2E> {
  const started = Date.now()
  const timings: E2ETimings = {
    database: 0,
    pack: 0,
    app: 0,
    migrate: 0,
    seed: 0,
    boot: 0,
    total: 0,
  }
  const cleanups: (() => Promise<void> | void)[] = []
  const runCleanups = async () => {
    const errors: unknown[] = []
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup()
      } catch (err) {
        errors.push(err)
      }
    }
    if (errors.length > 0) {
      throw errors[0]
    }
  }

  try {
    let t = Date.now()
    await dropStaleTestDatabases()
    const database = await createTestDatabase()
    cleanups.push(() => database.drop())
    timings.database = Date.now() - t

    const packed = packPlugin()
    timings.pack = packed.durationMs

    t = Date.now()
    const apiKey = `sk_test_e2e${randomBytes(12).toString("hex")}`
    const webhookSecret = `whsec_e2e${randomBytes(16).toString("hex")}`
    const app = createScratchApp({ databaseUrl: database.url, tarball: packed.tarball })
    if (process.env.E2E_KEEP_APP !== "1") {
      cleanups.push(() => app.remove())
    }
    timings.app = Date.now() - t

    const env: Env = { STRIPE_API_KEY: apiKey }
    if (options.redis) {
      const url = typeof options.redis === "string" ? options.redis : redisServerUrl()
      const namespace = `e2e-${database.name}`
      env.REDIS_URL = url
      env.REDIS_NAMESPACE = namespace
      cleanups.push(async () => {
        await clearRedisNamespace(url, namespace)
      })
    }
    Object.assign(env, options.env)
    let emulator: StripeEmulator | undefined
    if (options.emulator !== false) {
      const emu = await startEmulator(app, apiKey)
      if (!emu && options.emulator === true) {
        throw new Error("The Stripe emulator is not built (dist/emulator): run `npm run build`")
      }
      if (emu) {
        emulator = emu.emulator
        cleanups.push(() => emu.emulator.stop())
        Object.assign(env, emu.env, options.env)
      }
    }
    env.STRIPE_WEBHOOK_SECRET = env.STRIPE_WEBHOOK_SECRET ?? webhookSecret

    const seeded = await migrateAndSeed(app, options.seed ?? buildSeedData(), env)
    timings.migrate = seeded.migrateMs
    timings.seed = seeded.seedMs

    const db = await connectDb(database.url)
    cleanups.push(() => db.close())

    const backends: Backend[] = []
    cleanups.push(async () => {
      await Promise.all(backends.map((b) => b.stop()))
    })

    const start = async (more: StartAnotherOptions = {}): Promise<Backend> => {
      const port = more.port ?? (await freePort())
      if (emulator && more.registerWebhook) {
        env.STRIPE_WEBHOOK_SECRET = addWebhookEndpoint(
          emulator,
          `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
          env.STRIPE_WEBHOOK_SECRET
        )
      }
      const backend = await startBackend({ app, port, env: { ...env, ...more.env } })
      backends.push(backend)
      return backend
    }

    const e2e: E2E = {
      database,
      app,
      db,
      backend: undefined as unknown as Backend,
      backends,
      store: undefined as unknown as ApiClient,
      admin: undefined as unknown as AdminClient,
      emulator,
      secrets: { apiKey: env.STRIPE_API_KEY, webhookSecret: env.STRIPE_WEBHOOK_SECRET },
      env,
      paymentProviders: seeded.paymentProviders,
      timings,
      async startBackend(more: StartAnotherOptions = {}) {
        const first = !e2e.backend
        const backend = await start({
          ...more,
          registerWebhook: more.registerWebhook ?? (first && options.webhooks !== false),
        })
        if (first) {
          attach(backend)
          await e2e.admin.login()
        }
        e2e.secrets.webhookSecret = env.STRIPE_WEBHOOK_SECRET
        return backend
      },
      shutdown: runCleanups,
    }
    const attach = (backend: Backend) => {
      e2e.backend = backend
      e2e.store = storeClient(backend.url)
      e2e.admin = adminClient(backend.url)
    }

    if (options.startBackend !== false) {
      await e2e.startBackend()
      timings.boot = e2e.backend.bootMs
    }

    timings.total = Date.now() - started
    if (options.logTimings ?? process.env.E2E_VERBOSE === "1") {
      process.stdout.write(`[e2e] timings (ms): ${JSON.stringify(timings)}\n`)
    }
    return e2e
  } catch (err) {
    await runCleanups().catch(() => undefined)
    throw err
  }
}
