import type { PgQueryable } from "../../src/core/advisory-lock"
import { EventIntake, type IntakeRow } from "../../src/core/webhook-intake"

interface Statement {
  text: string
  values: unknown[]
}

/** A database that answers each statement when told to, with every row inserted. */
class FakeDb implements PgQueryable {
  readonly statements: Statement[] = []
  private readonly open: { statement: Statement; release: () => void }[] = []
  readonly existing = new Map<string, { status: string; attempts: number }>()
  failIds = new Set<string>()

  query<R>(text: string, values: unknown[] = []): Promise<{ rows: R[]; rowCount: number }> {
    const statement = { text, values }
    this.statements.push(statement)
    return new Promise((resolve, reject) => {
      this.open.push({
        statement,
        release: () => {
          const [ids, , , statuses] = statement.values as string[][]
          if (ids.some((id) => this.failIds.has(id))) {
            reject(new Error("value too long for type character varying"))
            return
          }
          const rows = ids.map((id, index) => {
            const before = this.existing.get(id)
            if (before) {
              return { id, status: before.status, attempts: before.attempts, inserted: false }
            }
            this.existing.set(id, { status: statuses[index], attempts: 0 })
            return { id, status: statuses[index], attempts: "0", inserted: true }
          })
          resolve({ rows: rows as R[], rowCount: rows.length })
        },
      })
    })
  }

  /** Answers the oldest open statement. */
  async answer(): Promise<void> {
    const next = this.open.shift()
    if (!next) throw new Error("no statement is open")
    next.release()
    await new Promise((resolve) => setImmediate(resolve))
  }

  get pending(): number {
    return this.open.length
  }
}

const row = (id: string, status: IntakeRow["status"] = "received"): IntakeRow => ({
  id,
  type: status === "ignored" ? "customer.created" : "payment_intent.succeeded",
  resourceId: status === "ignored" ? null : "cart_1",
  status,
})

describe("EventIntake", () => {
  it("writes a lone delivery at once", async () => {
    const db = new FakeDb()
    const intake = new EventIntake(db)
    const recorded = intake.record(row("evt_1"))
    expect(db.statements).toHaveLength(1)
    expect(db.statements[0].text).toMatch(/ON CONFLICT \(id\) DO UPDATE SET updated_at = now\(\)/)
    expect(db.statements[0].values).toEqual([
      ["evt_1"],
      ["payment_intent.succeeded"],
      ["cart_1"],
      ["received"],
    ])
    await db.answer()
    await expect(recorded).resolves.toEqual({ status: "received", attempts: 0, inserted: true })
  })

  it("records the deliveries that arrive meanwhile together, in the next statement", async () => {
    const db = new FakeDb()
    const intake = new EventIntake(db)
    const first = intake.record(row("evt_1"))
    const more = ["evt_2", "evt_3", "evt_4"].map((id) => intake.record(row(id, "ignored")))
    expect(db.statements).toHaveLength(1)
    expect(intake.queued).toBe(3)

    await db.answer()
    expect(db.statements).toHaveLength(2)
    expect(db.statements[1].values[0]).toEqual(["evt_2", "evt_3", "evt_4"])
    expect(db.statements[1].values[2]).toEqual([null, null, null])
    await db.answer()

    await expect(first).resolves.toMatchObject({ inserted: true })
    for (const recorded of await Promise.all(more)) {
      expect(recorded).toEqual({ status: "ignored", attempts: 0, inserted: true })
    }
    expect(db.pending).toBe(0)
  })

  it("gives one row and the same answer to an event delivered twice at once", async () => {
    const db = new FakeDb()
    db.existing.set("evt_done", { status: "processed", attempts: 1 })
    const intake = new EventIntake(db)
    const blocker = intake.record(row("evt_0"))
    const copies = Array.from({ length: 5 }, () => intake.record(row("evt_done")))
    await db.answer()
    expect(db.statements[1].values[0]).toEqual(["evt_done"])
    await db.answer()
    await blocker
    for (const recorded of await Promise.all(copies)) {
      expect(recorded).toEqual({ status: "processed", attempts: 1, inserted: false })
    }
  })

  it("splits a backlog larger than maxBatch", async () => {
    const db = new FakeDb()
    const intake = new EventIntake(db, { maxBatch: 2 })
    const all = ["evt_0", "evt_1", "evt_2", "evt_3", "evt_4"].map((id) => intake.record(row(id)))
    while (db.pending > 0) await db.answer()
    await Promise.all(all)
    expect(db.statements.map((s) => (s.values[0] as string[]).length)).toEqual([1, 2, 2])
  })

  it("keeps up to maxInFlight statements open", async () => {
    const db = new FakeDb()
    const intake = new EventIntake(db, { maxInFlight: 2 })
    const all = ["evt_0", "evt_1", "evt_2"].map((id) => intake.record(row(id)))
    expect(db.pending).toBe(2)
    while (db.pending > 0) await db.answer()
    await Promise.all(all)
    expect(db.statements).toHaveLength(3)
  })

  it("fails only the delivery the database refuses: the others are written one by one", async () => {
    const db = new FakeDb()
    const intake = new EventIntake(db)
    const blocker = intake.record(row("evt_0"))
    db.failIds.add("evt_bad")
    const good = intake.record(row("evt_good"))
    const bad = intake.record(row("evt_bad"))
    const badOutcome = bad.then(
      () => "resolved",
      (error: Error) => error.message
    )
    while (db.pending > 0) await db.answer()
    await blocker
    await expect(good).resolves.toMatchObject({ inserted: true })
    await expect(badOutcome).resolves.toMatch(/character varying/)
    expect(db.statements.map((s) => s.values[0])).toEqual([
      ["evt_0"],
      ["evt_good", "evt_bad"],
      ["evt_good"],
      ["evt_bad"],
    ])
  })

  it("refuses an answer that leaves the event out", async () => {
    const intake = new EventIntake({ query: () => Promise.resolve({ rows: [], rowCount: 0 }) })
    await expect(intake.record(row("evt_1"))).rejects.toThrow(/evt_1 was not recorded/)
  })
})
