import fc from "fast-check"
import { bootE2E, type E2E } from "../support"
import { writeReport } from "./support/history"
import {
  BackendViolation,
  backendProperty,
  formatFailure,
  MAX_STEPS,
  runHistory,
  stepsOf,
} from "./backend/history"
import { BACKEND_REGRESSIONS } from "./backend/regressions"
import { STEP_TYPES } from "./backend/steps"
import { Storefront } from "./backend/storefront"

/**
 * The ledger invariant through a real Medusa backend: generated histories of Store and Admin API
 * calls, shoppers and banks at Stripe, the Stripe dashboard, webhooks delivered late, twice or
 * out of order, Stripe faults and the backend killed, each settled and then checked against
 * Medusa's tables and the emulator's state.
 *
 * `LEDGER_BACKEND_RUNS` histories (6 by default, 300 with `LEDGER_FULL=1`, which also writes the
 * counts to bench/CHAOS.md). `LEDGER_BACKEND_SEED` and `LEDGER_BACKEND_PATH` replay one failure.
 */
const full = process.env.LEDGER_FULL === "1"
const runs = Number(process.env.LEDGER_BACKEND_RUNS ?? (full ? 300 : 6))
const replaySeed =
  process.env.LEDGER_BACKEND_SEED === undefined
    ? undefined
    : Number(process.env.LEDGER_BACKEND_SEED)
const replayPath = process.env.LEDGER_BACKEND_PATH
/** How long shrinking one failure may take: every attempt replays a history on the backend. */
const SHRINK_MS = Number(process.env.LEDGER_BACKEND_SHRINK_MS ?? (full ? 20 : 5) * 60_000)

jest.setTimeout((full ? 180 : 15) * 60_000)

function kindOf(violations: string[]): string {
  return (violations[0] ?? "unknown")
    .replace(/\b(pi|re|pay|cart|paycol|ch|order|dp|evt|item)_[A-Za-z0-9_]+/g, "$1")
    .replace(/\b\d+\b/g, "#")
}

describe("ledger through a real backend: what Stripe holds is what Medusa books", () => {
  let e2e: E2E
  let storefront: Storefront
  let histories = 0
  const onHistory = () => {
    histories += 1
  }

  beforeAll(async () => {
    e2e = await bootE2E({ emulator: true, startBackend: false })
    storefront = new Storefront(e2e)
    await storefront.open()
  }, 240_000)

  afterAll(async () => {
    await e2e?.shutdown()
  })

  /** Replays a failing run with shrinking, bounded in time, and prints it step by step. */
  async function shrunk(seed: number, path: string | null): Promise<string> {
    const details = await fc.check(backendProperty(storefront, onHistory), {
      seed,
      ...(path ? { path } : {}),
      numRuns: 1,
      interruptAfterTimeLimit: SHRINK_MS,
      markInterruptAsFailure: false,
    })
    const error = details.errorInstance
    const steps = details.counterexample ? stepsOf(details.counterexample) : []
    // The shrunk history once more, for a log of exactly its steps.
    const violations = steps.length > 0 ? await runHistory(storefront, steps) : []
    return formatFailure({
      seed: details.seed,
      path: details.counterexamplePath ?? path ?? "",
      violations:
        violations.length > 0
          ? violations
          : error instanceof BackendViolation
            ? error.violations
            : [String(error)],
      log:
        violations.length > 0
          ? [...storefront.log]
          : error instanceof BackendViolation
            ? error.log
            : [],
      steps,
    })
  }

  if (replaySeed !== undefined) {
    it("replays the history of LEDGER_BACKEND_SEED and LEDGER_BACKEND_PATH", async () => {
      const details = await fc.check(backendProperty(storefront, onHistory), {
        seed: replaySeed,
        ...(replayPath ? { path: replayPath, endOnFailure: true } : {}),
        numRuns: replayPath ? 1 : runs,
      })
      if (details.failed) throw new Error(await shrunk(details.seed, details.counterexamplePath))
    })
    return
  }

  it.each(BACKEND_REGRESSIONS.map((regression) => [regression.name, regression.steps] as const))(
    "%s",
    async (_name, steps) => {
      const violations = await runHistory(storefront, steps)
      if (process.env.LEDGER_VERBOSE === "1") {
        process.stdout.write(`history:\n${storefront.log.map((line) => `  ${line}`).join("\n")}\n`)
      }
      expect({ violations, log: violations.length > 0 ? storefront.log : [] }).toEqual({
        violations: [],
        log: [],
      })
    }
  )

  it(`holds over ${runs} generated histories of up to ${MAX_STEPS} steps`, async () => {
    const started = Date.now()
    const kinds = new Map<string, number>()
    const failures: string[] = []
    let generated = 0
    let violating = 0
    let seed = Number(process.env.LEDGER_BACKEND_BASE_SEED ?? Date.now() % 2 ** 31)
    const firstSeed = seed
    const before = histories
    while (generated < runs) {
      const quick = await fc.check(backendProperty(storefront, onHistory), {
        seed,
        numRuns: runs - generated,
        endOnFailure: true,
      })
      generated += quick.numRuns
      if (!quick.failed) break
      violating += 1
      const error = quick.errorInstance
      const kind = kindOf(error instanceof BackendViolation ? error.violations : [String(error)])
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
      if (kinds.get(kind) === 1) {
        const printed = await shrunk(quick.seed, quick.counterexamplePath)
        failures.push(printed)
        process.stdout.write(`\n${printed}\n`)
      }
      if (!full) break
      seed = (seed + 7919) % 2 ** 31
    }
    if (full) {
      const seconds = Math.round((Date.now() - started) / 1000)
      const counts = storefront.counts
      writeReport(
        [
          "## Ledger: model-based histories through a real backend",
          "",
          `Run on ${new Date().toISOString().slice(0, 10)} with \`npm run test:ledger\` (${runs} histories requested, seeds from ${firstSeed}, ${seconds} s): one Medusa 1.20 backend with the plugin installed from its tarball, PostgreSQL and the emulator as Stripe, webhooks on. Each history runs up to ${MAX_STEPS} steps, each a Store or Admin API call, a shopper or bank at Stripe, the Stripe dashboard, a delivery of the events Stripe holds back (in order, twice or newest first), a Stripe fault or the backend killed with SIGKILL and restarted; then it settles (faults stop, debits settle, every event is delivered, a shopper whose money Stripe holds comes back, the plugin's sweep runs every second) and the invariant is read from Medusa's tables and the emulator: per intent, what Stripe holds equals what Medusa's live payments book, and at most one live payment rests on it; at most one intent per cart holds money; every Stripe refund and lost dispute is in Medusa once and the refunds add up; no answer is a 5xx and every 4xx names the problem.`,
          "",
          "| count | value |",
          "|---|---:|",
          `| histories generated | ${generated} |`,
          `| histories run, shrinking included | ${histories - before} |`,
          `| histories violating the invariant | ${violating} |`,
          `| backend restarts (SIGKILL) | ${counts.restarts} |`,
          `| webhook deliveries | ${counts.webhookDeliveries} |`,
          ...Object.entries(counts.answers)
            .sort()
            .map(([kind, n]) => `| backend answers ${kind} | ${n} |`),
          "",
          "| command | runs |",
          "|---|---:|",
          ...STEP_TYPES.map((type) => `| ${type} | ${counts.steps[type] ?? 0} |`),
          "",
          ...(kinds.size === 0
            ? ["No violation."]
            : [
                "Violations, by kind (ids and amounts left out):",
                "",
                ...[...kinds].map(([kind, n]) => `- ${n} x ${kind}`),
              ]),
        ].join("\n"),
        "ledger-backend"
      )
    }
    expect({ violating, failures }).toEqual({ violating: 0, failures: [] })
  })
})
