import { randomBytes } from "crypto"
import { createRequire } from "module"

/** The slice of the `pg` package the harness uses (pg ships no type declarations). */
interface PgQueryResult<R> {
  rows: R[]
  rowCount: number | null
}

interface PgClient {
  connect(): Promise<void>
  query<R>(text: string, values?: unknown[]): Promise<PgQueryResult<R>>
  end(): Promise<void>
  on(event: "error", listener: (err: Error) => void): void
}

interface PgModule {
  Client: new (config: { connectionString: string }) => PgClient
}

const pg = createRequire(__filename)("pg") as PgModule

export type Row = Record<string, unknown>

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432"

/** The server part of DATABASE_URL (any database name in it is ignored). */
export function databaseServerUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL
}

/** DATABASE_URL pointed at another database on the same server. */
export function databaseUrlFor(name: string, base = databaseServerUrl()): string {
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new Error(`Refusing unusual database name ${JSON.stringify(name)}`)
  }
  return `"${name}"`
}

async function withAdminClient<T>(fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrlFor("postgres") })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Creates an empty database `<prefix>_p<pid>_<random>` and returns its URL. The pid lets a
 * later run drop what a killed run left behind (see dropStaleTestDatabases).
 */
export async function createTestDatabase(prefix = "medusa_stripe_e2e"): Promise<TestDatabase> {
  const name = `${prefix}_p${process.pid}_${randomBytes(4).toString("hex")}`
  await withAdminClient((client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`))
  let dropped = false
  return {
    name,
    url: databaseUrlFor(name),
    async drop() {
      if (!dropped) {
        dropped = true
        await dropDatabase(name)
      }
    },
  }
}

/** Drops a database, closing any connection still open on it. */
export async function dropDatabase(name: string): Promise<void> {
  await withAdminClient((client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
  )
}

/** Drops test databases whose test process no longer runs; returns their names. */
export async function dropStaleTestDatabases(prefix = "medusa_stripe_e2e"): Promise<string[]> {
  const stale = (await listDatabases(`${prefix}_p`)).filter((name) => {
    const match = new RegExp(`^${prefix}_p(\\d+)_[0-9a-f]+$`).exec(name)
    return match !== null && Number(match[1]) !== process.pid && !processAlive(Number(match[1]))
  })
  for (const name of stale) {
    await dropDatabase(name)
  }
  return stale
}

/** Names of databases that start with the prefix (to find leftovers). */
export async function listDatabases(prefix = "medusa_stripe_e2e_"): Promise<string[]> {
  const result = await withAdminClient((client) =>
    client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname",
      [prefix]
    )
  )
  return result.rows.map((row) => row.datname)
}

export interface Db {
  readonly url: string
  /** Rows of a query. */
  query<R = Row>(sql: string, params?: unknown[]): Promise<R[]>
  /** The first row, or undefined. */
  one<R = Row>(sql: string, params?: unknown[]): Promise<R | undefined>
  /** The first column of the first row as a number (for `SELECT count(*) ...`). */
  count(sql: string, params?: unknown[]): Promise<number>
  close(): Promise<void>
}

/** A client for assertions on the test database. */
export async function connectDb(url: string): Promise<Db> {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  await client.connect()
  let closed = false
  const db: Db = {
    url,
    async query<R = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
      const result = await client.query<R>(sql, params)
      return result.rows
    },
    async one<R = Row>(sql: string, params: unknown[] = []): Promise<R | undefined> {
      const rows = await db.query<R>(sql, params)
      return rows[0]
    },
    async count(sql: string, params: unknown[] = []): Promise<number> {
      const row = await db.one<Row>(sql, params)
      const value = row ? Object.values(row)[0] : 0
      return Number(value)
    },
    async close() {
      if (!closed) {
        closed = true
        await client.end()
      }
    },
  }
  return db
}
