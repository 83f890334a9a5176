import type { PgQueryable } from "./advisory-lock"
import type { WebhookEventStatus } from "./webhook-events"

/**
 * Intake of `POST /stripe/hooks`: every verified delivery is recorded in
 * `stripe_webhook_event` before Stripe gets its answer. Deliveries that arrive while earlier
 * ones are still being written are recorded together, one statement for all of them, so that
 * a burst of events costs a few round trips and commits instead of one each.
 */

/** One verified delivery, as the route records it. */
export interface IntakeRow {
  id: string
  type: string
  resourceId: string | null
  /** `ignored` for events the plugin does not act on, else `received`. */
  status: "received" | "ignored"
}

/** The event's row after the delivery was recorded. */
export interface RecordedEvent {
  status: WebhookEventStatus
  attempts: number
  /** False when the event was recorded by an earlier delivery. */
  inserted: boolean
}

interface ResultRow {
  id: string
  status: WebhookEventStatus
  attempts: number | string
  inserted: boolean
}

/**
 * A new event is inserted; one recorded before only has `updated_at` touched. Rows are taken
 * in id order, so two batches sharing events never wait on each other in opposite orders.
 */
const RECORD_EVENTS_SQL = `
  INSERT INTO stripe_webhook_event AS e
    (id, type, resource_id, status, attempts, processed_at, created_at, updated_at)
  SELECT d.id, d.type, d.resource_id, d.status, 0,
         CASE WHEN d.status = 'ignored' THEN now() END, now(), now()
  FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[])
    AS d(id, type, resource_id, status)
  ORDER BY d.id
  ON CONFLICT (id) DO UPDATE SET updated_at = now()
  RETURNING e.id, e.status, e.attempts, (e.xmax = 0) AS inserted`

export interface EventIntakeOptions {
  /**
   * Statements in flight at once; deliveries arriving meanwhile wait and go together in the
   * next one. One keeps the batches large under load; a lone delivery is written at once.
   */
  maxInFlight?: number
  /** Most deliveries per statement. */
  maxBatch?: number
}

interface Pending {
  row: IntakeRow
  waiters: { resolve(value: RecordedEvent): void; reject(error: unknown): void }[]
}

export class EventIntake {
  private readonly maxInFlight: number
  private readonly maxBatch: number
  private pending = new Map<string, Pending>()
  private inFlight = 0

  constructor(
    private readonly db: PgQueryable,
    options: EventIntakeOptions = {}
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1)
    this.maxBatch = Math.max(1, options.maxBatch ?? 100)
  }

  /** Records one delivery; resolves once its row is committed. */
  record(row: IntakeRow): Promise<RecordedEvent> {
    return new Promise<RecordedEvent>((resolve, reject) => {
      const queued = this.pending.get(row.id)
      if (queued) {
        // The same event delivered twice at once: one row, one answer for both.
        queued.waiters.push({ resolve, reject })
      } else {
        this.pending.set(row.id, { row, waiters: [{ resolve, reject }] })
      }
      this.flush()
    })
  }

  /** Deliveries waiting for a statement (for tests and diagnostics). */
  get queued(): number {
    return this.pending.size
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.pending.size > 0) {
      const batch: Pending[] = []
      for (const [id, entry] of this.pending) {
        batch.push(entry)
        this.pending.delete(id)
        if (batch.length >= this.maxBatch) break
      }
      this.inFlight += 1
      this.write(batch).finally(() => {
        this.inFlight -= 1
        this.flush()
      })
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    let rows: Map<string, RecordedEvent>
    try {
      rows = await this.insert(batch.map((entry) => entry.row))
    } catch (error) {
      if (batch.length === 1) {
        settle(batch[0], undefined, error)
        return
      }
      // One bad delivery must not fail the others: each is tried on its own.
      await Promise.all(batch.map((entry) => this.write([entry])))
      return
    }
    for (const entry of batch) {
      const recorded = rows.get(entry.row.id)
      settle(
        entry,
        recorded,
        recorded ? undefined : new Error(`Stripe event ${entry.row.id} was not recorded`)
      )
    }
  }

  private async insert(rows: IntakeRow[]): Promise<Map<string, RecordedEvent>> {
    // Unnamed: connection poolers in transaction mode do not keep prepared statements.
    const { rows: result } = await this.db.query<ResultRow>(RECORD_EVENTS_SQL, [
      rows.map((row) => row.id),
      rows.map((row) => row.type),
      rows.map((row) => row.resourceId),
      rows.map((row) => row.status),
    ])
    const byId = new Map<string, RecordedEvent>()
    for (const row of result) {
      byId.set(row.id, {
        status: row.status,
        attempts: Number(row.attempts),
        inserted: row.inserted === true,
      })
    }
    return byId
  }
}

function settle(entry: Pending, value: RecordedEvent | undefined, error: unknown): void {
  for (const waiter of entry.waiters) {
    if (value) {
      waiter.resolve(value)
    } else {
      waiter.reject(error)
    }
  }
}

/** One intake per pool, shared by every request. */
const intakes = new WeakMap<PgQueryable, EventIntake>()

export function eventIntakeFor(pool: PgQueryable): EventIntake {
  let intake = intakes.get(pool)
  if (!intake) {
    intake = new EventIntake(pool)
    intakes.set(pool, intake)
  }
  return intake
}
