import {
  LockTimeoutError,
  acquireAdvisoryLocks,
  type PgPool,
  type PgPoolClient,
} from "../../src/core/advisory-lock"
import { advisoryLockKeys } from "../../src/core/webhook-lock"

/** A pool whose advisory locks live in a set; `busy` names locks another session holds. */
function fakePool(busy: string[] = []) {
  const keyOf = (values: unknown[] | undefined) => (values ?? []).join(":")
  const held = new Set<string>(busy.map((name) => advisoryLockKeys(name).join(":")))
  const taken: string[] = []
  const released: string[] = []
  const client: PgPoolClient = {
    async query<R>(text: string, values?: unknown[]) {
      const key = keyOf(values)
      if (text.includes("pg_try_advisory_lock")) {
        const locked = !held.has(key)
        if (locked) {
          held.add(key)
          taken.push(key)
        }
        return { rows: [{ locked } as R], rowCount: 1 }
      }
      if (text.includes("pg_advisory_unlock")) {
        held.delete(key)
        released.push(key)
        return { rows: [{ unlocked: true } as R], rowCount: 1 }
      }
      throw new Error(`unexpected statement ${text}`)
    },
    release: () => undefined,
  }
  const pool: PgPool = {
    connect: async () => client,
    query: (text, values) => client.query(text, values),
    end: async () => undefined,
    on: () => undefined,
  }
  const named = (keys: string[]) =>
    keys.map((key) =>
      ["a", "b", "c"].find((name) => advisoryLockKeys(`payment_intent:${name}`).join(":") === key)
    )
  return { pool, taken: () => named(taken), released: () => named(released) }
}

describe("acquireAdvisoryLocks", () => {
  it("takes each lock once, in sorted order, and releases them all", async () => {
    const fake = fakePool()
    const lease = await acquireAdvisoryLocks(fake.pool, [
      "payment_intent:c",
      "payment_intent:a",
      "payment_intent:c",
      "payment_intent:b",
    ])
    expect(fake.taken()).toEqual(["a", "b", "c"])
    await lease.release()
    expect(fake.released()).toEqual(["c", "b", "a"])
  })

  it("gives back the locks it took when a later one stays busy", async () => {
    const fake = fakePool(["payment_intent:b"])
    await expect(
      acquireAdvisoryLocks(fake.pool, ["payment_intent:b", "payment_intent:a"], 0)
    ).rejects.toBeInstanceOf(LockTimeoutError)
    expect(fake.taken()).toEqual(["a"])
    expect(fake.released()).toEqual(["a"])
  })
})
