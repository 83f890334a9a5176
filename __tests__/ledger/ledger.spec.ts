import fc from "fast-check"
import { StripeEmulator } from "../../src/emulator"
import {
  emptyStats,
  explain,
  formatFailure,
  ledgerProperty,
  LedgerViolation,
  MAX_STEPS,
  stepsOf,
  writeReport,
  type Failure,
  type LedgerStats,
} from "./support/history"
import { Shop } from "./support/shop"
import { STEP_TYPES } from "./support/steps"

/**
 * The ledger invariant over generated histories: after every step, money Stripe holds for a
 * cart is what Medusa books for it, and nothing is held twice or refunded unseen.
 *
 * `LEDGER_RUNS` histories (100 by default). `LEDGER_FULL=1` (npm run test:ledger) goes on past
 * failures until that many histories ran, shrinks each new kind of violation, and writes the
 * counts to bench/CHAOS.md. `LEDGER_SEED` and `LEDGER_PATH` replay one failure.
 */
const full = process.env.LEDGER_FULL === "1"
const runs = Number(process.env.LEDGER_RUNS ?? (full ? 2000 : 100))
const replaySeed =
  process.env.LEDGER_SEED === undefined ? undefined : Number(process.env.LEDGER_SEED)
const replayPath = process.env.LEDGER_PATH
const maxShrunk = Number(process.env.LEDGER_MAX_SHRUNK ?? 12)

jest.setTimeout(full ? 60 * 60_000 : 5 * 60_000)

/** What a violation is about, with ids and amounts left out, to tell kinds apart. */
function kindOf(violations: string[]): string {
  return (violations[0] ?? "unknown")
    .replace(/\b(pi|re|pay|cart|paycol|ch)_[A-Za-z0-9_]+/g, "$1")
    .replace(/\b\d+\b/g, "#")
}

function violationOf(error: unknown): LedgerViolation | undefined {
  return error instanceof LedgerViolation ? error : undefined
}

describe("ledger: what Stripe holds is what Medusa books", () => {
  let emulator: StripeEmulator
  let shop: Shop
  const stats: LedgerStats = emptyStats()

  beforeAll(async () => {
    emulator = await StripeEmulator.start({ port: 0 })
    shop = new Shop(emulator, "h")
  })

  afterAll(async () => {
    await emulator.stop()
  })

  /** Turns a failed check into a readable failure: the shrunk steps replayed one by one. */
  async function failureOf(details: {
    counterexample: unknown
    seed: number
    counterexamplePath: string | null
    errorInstance: unknown
  }): Promise<Failure> {
    const [autoCapture, commands] = details.counterexample as [boolean, unknown]
    const history = { autoCapture, steps: stepsOf(commands) }
    const explained = await explain(shop, history)
    const violation = violationOf(details.errorInstance)
    return {
      seed: details.seed,
      path: details.counterexamplePath ?? "",
      history,
      violations:
        explained.violations.length > 0
          ? explained.violations
          : (violation?.violations ?? [String(details.errorInstance)]),
      log: explained.violations.length > 0 ? explained.log : (violation?.log ?? explained.log),
    }
  }

  const property = () => ledgerProperty(shop, stats)

  if (replaySeed !== undefined) {
    it("replays the history of LEDGER_SEED and LEDGER_PATH", async () => {
      const details = await fc.check(property(), {
        seed: replaySeed,
        ...(replayPath ? { path: replayPath } : {}),
        numRuns: replayPath ? 1 : runs,
      })
      if (details.failed) throw new Error(formatFailure(await failureOf(details)))
    })
    return
  }

  if (!full) {
    it(`holds over ${runs} generated histories of up to ${MAX_STEPS} steps`, async () => {
      const details = await fc.check(property(), { numRuns: runs })
      if (details.failed) throw new Error(formatFailure(await failureOf(details)))
    })
    return
  }

  it(`holds over ${runs} generated histories, every kind of violation shrunk and reported`, async () => {
    const started = Date.now()
    const failures: Failure[] = []
    const kinds = new Map<string, number>()
    let generated = 0
    let shrinks = 0
    let batchSeed = Number(process.env.LEDGER_BASE_SEED ?? Date.now() % 2 ** 31)
    const firstSeed = batchSeed
    while (generated < runs) {
      const quick = await fc.check(property(), {
        seed: batchSeed,
        numRuns: runs - generated,
        endOnFailure: true,
      })
      generated += quick.numRuns
      if (!quick.failed) break
      stats.violations += 1
      const kind = kindOf(
        violationOf(quick.errorInstance)?.violations ?? [String(quick.errorInstance)]
      )
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
      if (kinds.get(kind) === 1 && failures.length < maxShrunk) {
        const shrunk = await fc.check(property(), {
          seed: quick.seed,
          path: quick.counterexamplePath ?? undefined,
          numRuns: 1,
        })
        shrinks += shrunk.numShrinks
        if (shrunk.failed) {
          const failure = await failureOf(shrunk)
          failures.push(failure)
          process.stdout.write(`\n${formatFailure(failure)}\n`)
        }
      }
      batchSeed = (batchSeed + 7919) % 2 ** 31
    }
    const seconds = Math.round((Date.now() - started) / 1000)
    const commandRows = STEP_TYPES.map((type) => `| ${type} | ${stats.commands[type]} |`)
    writeReport(
      [
        "## Ledger: model-based histories at the processor layer",
        "",
        `Run on ${new Date().toISOString().slice(0, 10)} with \`npm run test:ledger\` (${runs} histories requested, seeds from ${firstSeed}, ${seconds} s): the real processors against the emulator, and a model of what Medusa 1.20 does with each answer. Money also moves at Stripe without Medusa (dashboard captures, cancels and refunds, disputes won and lost, SEPA debits settling after their session was dropped); every Stripe event runs the reconciler on its intent with Medusa's books in the model, as the webhook does. After every step the money Stripe holds for each cart and payment collection must equal what Medusa books for it, every Stripe refund and lost dispute must be booked once, and at most one intent per cart may hold money.`,
        "",
        "| count | value |",
        "|---|---:|",
        `| histories generated | ${generated} |`,
        `| histories run, shrinking included | ${stats.histories} |`,
        `| shrink steps | ${shrinks} |`,
        `| steps run | ${stats.steps} |`,
        `| histories violating the invariant | ${stats.violations} |`,
        `| reconciliations run (one per intent and webhook delivery) | ${shop.counts.reconciled.runs} |`,
        `| differences the reconciler fixed | ${shop.counts.reconciled.fixed} |`,
        `| differences it flagged for a person | ${shop.counts.reconciled.flagged} |`,
        `| reconciliations left waiting | ${shop.counts.reconciled.waiting} |`,
        `| kinds of violation | ${kinds.size} |`,
        "",
        "| command | runs |",
        "|---|---:|",
        ...commandRows,
        "",
        ...(kinds.size === 0
          ? ["No violation."]
          : [
              "Violations, by kind (ids and amounts left out):",
              "",
              ...[...kinds].map(([kind, count]) => `- ${count} x ${kind}`),
            ]),
      ].join("\n")
    )
    const summary = failures.map(formatFailure).join("\n\n")
    expect({ violations: stats.violations, kinds: [...kinds.keys()], summary }).toEqual({
      violations: 0,
      kinds: [],
      summary: "",
    })
  })
})
