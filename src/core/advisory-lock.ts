import { createRequire } from "module"
import type { ConfigModule } from "@medusajs/medusa"
import { LOCK_WAIT_MS, advisoryLockKeys, lockPollDelay } from "./webhook-lock"

/**
 * PostgreSQL advisory locks on the plugin's own connection pools, shared by every backend
 * process on the database: they serialise the completion of one cart between the shopper's
 * request and Stripe's webhooks.
 */

/** The slice of `pg` the plugin uses (the package ships no type declarations). */

interface PgQueryResult<R> {
  rows: R[]
  rowCount: number | null
}

export interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgQueryResult<R>>
}

export interface PgPoolClient extends PgQueryable {
  release(error?: Error | boolean): void
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
  on(event: "error", listener: (error: Error) => void): void
}

interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool
}

export interface PluginPools {
  /** Holds advisory locks: one connection per lock held, never one per waiter. */
  locks: PgPool
  /** Short statements on the plugin's own table, so the route never waits behind a lock. */
  queries: PgPool
}

/**
 * Pools per database, shared by every instance of the service in the process. They are the
 * plugin's own, apart from Medusa's TypeORM pool: a completion that holds a cart lock also
 * needs TypeORM connections, and taking both from one pool could starve it.
 */
const pools = new Map<string, PluginPools>()

function loadPg(): PgModule {
  return createRequire(__filename)("pg") as PgModule
}

/** Connections per pool, from the plugin options `lock_pool_size` and `query_pool_size`. */
export interface PoolSizes {
  locks: number
  queries: number
}

export const DEFAULT_POOL_SIZES: Readonly<PoolSizes> = { locks: 10, queries: 4 }

/**
 * How long a short statement waits for a connection of the plugin's query pool. A lock waits
 * for its connection as long as for the lock itself ({@link LOCK_WAIT_MS}): under load, a
 * shopper queues behind the carts being completed and gets 409 only after the lock's wait.
 */
export const POOL_CONNECT_TIMEOUT_MS = 10_000

function createPools(projectConfig: ConfigModule["projectConfig"], sizes: PoolSizes): PluginPools {
  const url = projectConfig.database_url
  if (!url) {
    throw new Error(
      "medusa-stripe-payments: projectConfig.database_url is not set; webhooks and the cart lock need PostgreSQL"
    )
  }
  const schema = projectConfig.database_schema
  const extra = (projectConfig.database_extra ?? {}) as Record<string, unknown>
  const { Pool } = loadPg()
  const make = (max: number, name: string, connectTimeoutMs: number): PgPool => {
    const pool = new Pool({
      ...extra,
      connectionString: url,
      max,
      // Kept open between the checkouts of a quiet shop: a completion should not wait for a
      // new connection. allowExitOnIdle still lets CLI commands exit.
      idleTimeoutMillis: 300_000,
      connectionTimeoutMillis: connectTimeoutMs,
      allowExitOnIdle: true,
      application_name: `medusa-stripe-payments:${name}`,
      ...(schema && /^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)
        ? { options: `-c search_path=${schema},public` }
        : {}),
    })
    // An idle client that loses its connection must not crash the process.
    pool.on("error", () => undefined)
    return pool
  }
  return {
    locks: make(sizes.locks, "locks", LOCK_WAIT_MS),
    queries: make(sizes.queries, "queries", POOL_CONNECT_TIMEOUT_MS),
  }
}

/** The plugin's pools for Medusa's database; the first caller in the process sizes them. */
export function poolsFor(
  configModule: ConfigModule,
  sizes: PoolSizes = DEFAULT_POOL_SIZES
): PluginPools {
  const key = `${configModule.projectConfig.database_url}|${configModule.projectConfig.database_schema ?? ""}`
  let found = pools.get(key)
  if (!found) {
    found = createPools(configModule.projectConfig, sizes)
    pools.set(key, found)
  }
  return found
}

/** A held advisory lock and the connection that holds it. */
export interface LockLease {
  readonly name: string
  /** The holding connection; statements on the plugin's own table may run on it. */
  readonly client: PgQueryable
  release(): Promise<void>
}

export class LockTimeoutError extends Error {
  constructor(
    readonly lockName: string,
    waitedMs: number
  ) {
    super(`Timed out after ${waitedMs} ms waiting for the lock on ${lockName}`)
    this.name = "LockTimeoutError"
  }
}

/** `pg`'s answer when no connection of the pool became free in time. */
function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Takes the Postgres advisory lock `name` (shared by every process on the database) on a
 * connection of the plugin's lock pool. Waiters poll with `pg_try_advisory_lock` instead of
 * blocking, so that they hold no connection while they wait.
 */
export async function acquireAdvisoryLock(
  pool: PgPool,
  name: string,
  waitMs: number = LOCK_WAIT_MS
): Promise<LockLease> {
  const [high, low] = advisoryLockKeys(name)
  const started = Date.now()
  for (let attempt = 0; ; attempt += 1) {
    let client: PgPoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      // Every connection is held by a lock of another cart: that is waiting for a lock too.
      if (isPoolTimeout(error)) throw new LockTimeoutError(name, Date.now() - started)
      throw error
    }
    let locked = false
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock($1, $2) AS locked",
        [high, low]
      )
      locked = rows[0]?.locked === true
    } catch (error) {
      client.release(error instanceof Error ? error : true)
      throw error
    }
    if (locked) {
      return lease(name, client, high, low)
    }
    client.release()
    const waited = Date.now() - started
    if (waited >= waitMs) {
      throw new LockTimeoutError(name, waited)
    }
    await sleep(Math.min(lockPollDelay(attempt), Math.max(1, waitMs - waited)))
  }
}

function lease(name: string, client: PgPoolClient, high: number, low: number): LockLease {
  let released = false
  return {
    name,
    client,
    release: async () => {
      if (released) return
      released = true
      try {
        const { rows } = await client.query<{ unlocked: boolean }>(
          "SELECT pg_advisory_unlock($1, $2) AS unlocked",
          [high, low]
        )
        // A connection that somehow holds the lock no longer is never reused.
        client.release(rows[0]?.unlocked === true ? undefined : true)
      } catch (error) {
        // Destroying the connection ends its session, and with it the lock.
        client.release(error instanceof Error ? error : true)
      }
    },
  }
}

/**
 * Takes several advisory locks, always in the same (sorted) order so that two holders of
 * overlapping sets cannot each wait for the other; on a failure the ones taken are released.
 * The lease releases them all; its client is the first lock's.
 */
export async function acquireAdvisoryLocks(
  pool: PgPool,
  names: readonly string[],
  waitMs: number = LOCK_WAIT_MS
): Promise<LockLease> {
  const sorted = [...new Set(names)].sort()
  if (sorted.length === 0) {
    throw new Error("No lock to take")
  }
  const held: LockLease[] = []
  const releaseAll = async () => {
    for (const each of held.splice(0).reverse()) {
      await each.release()
    }
  }
  try {
    for (const name of sorted) {
      held.push(await acquireAdvisoryLock(pool, name, waitMs))
    }
  } catch (error) {
    await releaseAll()
    throw error
  }
  return { name: sorted.join(", "), client: held[0].client, release: releaseAll }
}
