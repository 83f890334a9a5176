import { AsyncLocalStorage } from "async_hooks"

/**
 * The store's cart completions of one backend process start their work a few at a time.
 *
 * A process runs its JavaScript on one thread, which its completions share evenly. Completions
 * that take their cart locks together (a burst of shoppers, or the next ones let in when a group
 * finishes) therefore progress together, reach their Stripe call together and wait for Stripe
 * together, while the thread has nothing else to do; then they all resume and finish together,
 * and the next group does the same. With 10 lock connections, about 90 ms of work per
 * completion and 300 ms Stripe round trips, every group of 10 left the process idle for 300 ms
 * out of 1.2 s. Letting only {@link COMPLETION_START_WIDTH} completions at a time do their
 * work before Stripe staggers their round trips, so that one completion's wait for Stripe
 * overlaps the others' work.
 *
 * The gate only orders work; it guards nothing. A completion takes it after its cart lock and
 * leaves it at its first Stripe request or when its response ends, whichever comes first; one
 * that finds no place within {@link COMPLETION_START_WAIT_MS} goes ahead without one.
 */

/** Completions of one process doing their work before Stripe at the same time. */
export const COMPLETION_START_WIDTH = 3

/** The longest a completion waits for a place before it goes ahead anyway. */
export const COMPLETION_START_WAIT_MS = 5_000

/** A place at the gate (or none, after the wait ran out); leaving twice is harmless. */
export interface GatePass {
  leave(): void
}

export class Gate {
  private inside = 0
  private readonly queue: Array<() => void> = []

  constructor(
    readonly width: number,
    readonly maxWaitMs: number
  ) {}

  get occupied(): number {
    return this.inside
  }

  get waiting(): number {
    return this.queue.length
  }

  /** Resolves once a place is free (first come, first served), or after `maxWaitMs` without one. */
  enter(): Promise<GatePass> {
    if (this.inside < this.width) {
      this.inside += 1
      return Promise.resolve(this.pass())
    }
    return new Promise((resolve) => {
      const admit = () => {
        clearTimeout(timer)
        resolve(this.pass())
      }
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(admit)
        if (at >= 0) this.queue.splice(at, 1)
        resolve({ leave: () => undefined })
      }, this.maxWaitMs)
      this.queue.push(admit)
    })
  }

  private pass(): GatePass {
    let left = false
    return {
      leave: () => {
        if (left) return
        left = true
        const next = this.queue.shift()
        // The place passes straight to the next in line.
        if (next) next()
        else this.inside -= 1
      },
    }
  }
}

/** The gate of the store's cart completions in this process. */
export const completionStart = new Gate(COMPLETION_START_WIDTH, COMPLETION_START_WAIT_MS)

const passes = new AsyncLocalStorage<GatePass>()

/** Runs `work` (a completion) holding `pass`, so that its first Stripe request can leave. */
export function withGatePass<T>(pass: GatePass, work: () => T): T {
  return passes.run(pass, work)
}

/** Called before a Stripe request: the completion running now (if any) leaves the gate. */
export function leaveCompletionStart(): void {
  passes.getStore()?.leave()
}
