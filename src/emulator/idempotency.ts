import { ApiError } from "./errors"

/** A completed request whose response is replayed for the same key. */
export interface SavedResponse {
  status: number
  payload: string
  requestId: string
}

export interface Saved extends SavedResponse {
  method: string
  path: string
  body: string
  savedAt: number
}

export type IdempotencyCheck = { kind: "new" } | { kind: "replay"; response: SavedResponse }

const KEY_LIFETIME_MS = 24 * 60 * 60 * 1000

/**
 * Idempotency keys: results of executed requests (2xx and 4xx) are kept for 24 hours; a key
 * in use by a running request is locked.
 */
export class IdempotencyKeys {
  private readonly saved = new Map<string, Saved>()
  private readonly inFlight = new Set<string>()

  constructor(private readonly clock: () => number) {}

  /**
   * Checks a key before running a request. Throws the idempotency errors: another request
   * with the key is running (409), or the key was used for another request (400). A `new`
   * answer locks the key until {@link save} or {@link release}.
   */
  begin(key: string, method: string, path: string, body: string): IdempotencyCheck {
    const saved = this.saved.get(key)
    if (saved && this.clock() - saved.savedAt > KEY_LIFETIME_MS) {
      this.saved.delete(key)
    } else if (saved) {
      if (saved.method !== method || saved.path !== path) {
        throw new ApiError(400, {
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.method} ${saved.path}' vs '${method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        })
      }
      if (saved.body !== body) {
        throw new ApiError(400, {
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        })
      }
      return {
        kind: "replay",
        response: { status: saved.status, payload: saved.payload, requestId: saved.requestId },
      }
    }
    if (this.inFlight.has(key)) {
      throw new ApiError(409, {
        type: "idempotency_error",
        message: `There is currently another in-progress request using this idempotency key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      })
    }
    this.inFlight.add(key)
    return { kind: "new" }
  }

  save(key: string, method: string, path: string, body: string, response: SavedResponse): void {
    this.inFlight.delete(key)
    this.saved.set(key, { ...response, method, path, body, savedAt: this.clock() })
  }

  /** Unlocks a key without saving a result (validation failures, 500s, injected failures). */
  release(key: string): void {
    this.inFlight.delete(key)
  }

  clear(): void {
    this.saved.clear()
    this.inFlight.clear()
  }

  /** The saved results by key, for a snapshot of the emulator. */
  entries(): [string, Saved][] {
    return [...this.saved.entries()].map(([key, saved]) => [key, { ...saved }])
  }

  /** Replaces the saved results with a snapshot's; keys in use stay locked. */
  restore(entries: [string, Saved][]): void {
    this.saved.clear()
    for (const [key, saved] of entries) this.saved.set(key, { ...saved })
  }

  get size(): number {
    return this.saved.size
  }
}
