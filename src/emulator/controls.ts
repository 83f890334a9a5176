import { seededRandom, type Random } from "./random"

/**
 * How an injected failure shows: `500` api_error, `429` rate limit, `reset` (socket destroyed
 * without a response), `timeout` (request held, then the socket destroyed).
 */
export type FaultKind = "500" | "429" | "reset" | "timeout"

export const FAULT_KINDS: readonly FaultKind[] = ["500", "429", "reset", "timeout"]

/**
 * `before`: the request fails and nothing changes. `after`: the request runs (state changes,
 * idempotent result saved) and the client still sees the failure.
 */
export type FaultTiming = "before" | "after"

export interface Fault {
  kind: FaultKind
  when: FaultTiming
  /** For `timeout`: how long the request is held before its socket is destroyed. */
  holdMs: number
}

export interface FailNextOptions {
  /** Route template such as `POST /v1/payment_intents/:id/confirm`; all routes when absent. */
  route?: string
  kind: FaultKind
  when?: FaultTiming
  holdMs?: number
}

export interface FailureRateOptions {
  kinds?: FaultKind[]
  routes?: string[]
  when?: FaultTiming
  holdMs?: number
}

/**
 * Whether a route matcher applies to a route label (`POST /v1/payment_intents/:id`). A matcher
 * is a full label, a template without method (any method), `*`, or a prefix ending in `*`.
 */
export function routeMatches(matcher: string | undefined, label: string): boolean {
  if (matcher === undefined || matcher === "*") return true
  if (matcher.endsWith("*")) {
    const prefix = matcher.slice(0, -1)
    return label.startsWith(prefix) || label.slice(label.indexOf(" ") + 1).startsWith(prefix)
  }
  if (matcher.includes(" ")) return matcher === label
  return label.slice(label.indexOf(" ") + 1) === matcher
}

interface PendingFailure {
  remaining: number
  fault: Fault
  route?: string
}

interface FailureRate {
  rate: number
  kinds: FaultKind[]
  routes?: string[]
  when: FaultTiming
  holdMs: number
}

export const DEFAULT_HOLD_MS = 30_000

/** Latency and failures injected into API requests. Randomness comes from a seeded source. */
export class Faults {
  private random: Random
  private latencies: { ms: number; route?: string }[] = []
  private pending: PendingFailure[] = []
  private failureRate: FailureRate | undefined

  constructor(
    private seed: number,
    private readonly defaultHoldMs = DEFAULT_HOLD_MS
  ) {
    this.random = seededRandom(seed)
  }

  /** Adds `ms` of latency to matching routes (all routes without `route`); 0 removes it. */
  setLatency(ms: number, route?: string): void {
    this.latencies = this.latencies.filter((entry) => entry.route !== route)
    if (ms > 0) this.latencies.push({ ms, ...(route !== undefined ? { route } : {}) })
  }

  /** Latency for a route: its own setting, else the global one. */
  latencyFor(label: string): number {
    const own = this.latencies.find(
      (entry) => entry.route !== undefined && routeMatches(entry.route, label)
    )
    if (own) return own.ms
    return this.latencies.find((entry) => entry.route === undefined)?.ms ?? 0
  }

  /** Fails a share of matching requests, picking the kind at random among `kinds`. */
  setFailureRate(rate: number, options: FailureRateOptions = {}): void {
    if (rate <= 0) {
      this.failureRate = undefined
      return
    }
    this.failureRate = {
      rate: Math.min(1, rate),
      kinds: options.kinds && options.kinds.length > 0 ? [...options.kinds] : ["500"],
      ...(options.routes ? { routes: [...options.routes] } : {}),
      when: options.when ?? "before",
      holdMs: options.holdMs ?? this.defaultHoldMs,
    }
  }

  /** Fails the next `count` matching requests. */
  failNext(count: number, options: FailNextOptions): void {
    if (count <= 0) return
    this.pending.push({
      remaining: count,
      fault: {
        kind: options.kind,
        when: options.when ?? "before",
        holdMs: options.holdMs ?? this.defaultHoldMs,
      },
      ...(options.route !== undefined ? { route: options.route } : {}),
    })
  }

  clear(): void {
    this.latencies = []
    this.pending = []
    this.failureRate = undefined
    this.random = seededRandom(this.seed)
  }

  reseed(seed: number): void {
    this.seed = seed
    this.random = seededRandom(seed)
  }

  /** The failure to inject into this request, if any (consumes `failNext` counts). */
  take(label: string): Fault | undefined {
    const index = this.pending.findIndex((entry) => routeMatches(entry.route, label))
    if (index >= 0) {
      const entry = this.pending[index]
      entry.remaining -= 1
      if (entry.remaining <= 0) this.pending.splice(index, 1)
      return { ...entry.fault }
    }
    const rate = this.failureRate
    if (!rate) return undefined
    if (rate.routes && !rate.routes.some((route) => routeMatches(route, label))) return undefined
    if (this.random() >= rate.rate) return undefined
    const kind = rate.kinds[Math.floor(this.random() * rate.kinds.length)]
    return { kind, when: rate.when, holdMs: rate.holdMs }
  }

  describe(): {
    latencies: { ms: number; route?: string }[]
    pending: { remaining: number; route?: string; kind: FaultKind; when: FaultTiming }[]
    failureRate: FailureRate | null
  } {
    return {
      latencies: this.latencies.map((entry) => ({ ...entry })),
      pending: this.pending.map((entry) => ({
        remaining: entry.remaining,
        ...(entry.route !== undefined ? { route: entry.route } : {}),
        kind: entry.fault.kind,
        when: entry.fault.when,
      })),
      failureRate: this.failureRate ? { ...this.failureRate } : null,
    }
  }
}

export interface RequestLogEntry {
  requestId: string
  method: string
  path: string
  /** Route label such as `POST /v1/payment_intents/:id/confirm`; null for unknown URLs. */
  route: string | null
  /** Null when the client got no response (reset / timeout). */
  status: number | null
  idempotencyKey: string | null
  replayed: boolean
  fault: FaultKind | null
  faultWhen: FaultTiming | null
  startedAt: number
  durationMs: number
}

/** Per-route counters and a bounded log of API requests. */
export class RequestStats {
  private counts = new Map<string, number>()
  private entries: RequestLogEntry[] = []
  private readonly listeners = new Set<(entry: RequestLogEntry) => void>()

  constructor(private readonly limit = 10_000) {}

  count(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1)
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  resetCounters(): void {
    this.counts.clear()
  }

  /** Calls `listener` with every request logged from now on; returns the unsubscribe. */
  subscribe(listener: (entry: RequestLogEntry) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  record(entry: RequestLogEntry): void {
    for (const listener of this.listeners) listener({ ...entry })
    this.entries.push(entry)
    if (this.entries.length > this.limit + Math.max(100, this.limit >> 4)) {
      this.entries.splice(0, this.entries.length - this.limit)
    }
  }

  log(): RequestLogEntry[] {
    return this.entries.slice(-this.limit).map((entry) => ({ ...entry }))
  }

  clearLog(): void {
    this.entries = []
  }
}
