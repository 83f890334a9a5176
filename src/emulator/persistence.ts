import fs from "fs"
import path from "path"
import type { Saved } from "./idempotency"
import type { StoreSnapshot } from "./store"

/**
 * What a state file holds: the account's objects and events and the saved idempotency
 * results. Webhook endpoints (with their secrets), faults, counters and the request log are
 * not kept: whoever starts the emulator sets them up again.
 */
export interface EmulatorSnapshot {
  version: typeof SNAPSHOT_VERSION
  /** Milliseconds since the epoch. */
  saved_at: number
  store: StoreSnapshot
  idempotency_keys: [string, Saved][]
}

export const SNAPSHOT_VERSION = 1

/** A state file that cannot be used; its message names the file and what to do. */
export class EmulatorStateError extends Error {
  constructor(
    readonly file: string,
    reason: string
  ) {
    super(
      `The Stripe emulator's state file ${file} cannot be used (${reason}); delete it to start with an empty account`
    )
    this.name = "EmulatorStateError"
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

/** The snapshot in `file`, or undefined when there is no such file. */
export function readSnapshot(file: string): EmulatorSnapshot | undefined {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (error: unknown) {
    if (isRecord(error) && error.code === "ENOENT") return undefined
    throw new EmulatorStateError(file, error instanceof Error ? error.message : String(error))
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new EmulatorStateError(file, "not JSON")
  }
  if (!isRecord(parsed) || parsed.version !== SNAPSHOT_VERSION) {
    throw new EmulatorStateError(file, `not a version ${SNAPSHOT_VERSION} emulator snapshot`)
  }
  if (!isRecord(parsed.store) || !Array.isArray(parsed.idempotency_keys)) {
    throw new EmulatorStateError(file, "incomplete snapshot")
  }
  return parsed as unknown as EmulatorSnapshot
}

/** Writes the snapshot whole or not at all (a temporary file renamed over the old one). */
export function writeSnapshot(file: string, snapshot: EmulatorSnapshot): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const temporary = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temporary, `${JSON.stringify(snapshot)}\n`)
  fs.renameSync(temporary, file)
}

/**
 * Keeps a state file up to date: {@link touch} after every change schedules one write
 * `delayMs` later, so a burst of requests costs one write; {@link flush} writes at once.
 */
export class StateFile {
  private timer: NodeJS.Timeout | undefined
  private dirty = false

  constructor(
    readonly file: string,
    private readonly take: () => EmulatorSnapshot,
    private readonly onError: (error: unknown) => void,
    private readonly delayMs = 200
  ) {}

  touch(): void {
    this.dirty = true
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      try {
        this.flush()
      } catch (error: unknown) {
        // Written again after the next change, or at stop.
        this.dirty = true
        this.onError(error)
      }
    }, this.delayMs)
    this.timer.unref()
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (!this.dirty) return
    this.dirty = false
    writeSnapshot(this.file, this.take())
  }
}
