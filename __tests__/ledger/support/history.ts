import fs from "fs"
import path from "path"
import fc from "fast-check"
import { Shop } from "./shop"
import { describeStep, STEP_ARBITRARIES, STEP_TYPES, type Step, type StepType } from "./steps"

/** A recorded history: the card provider's capture mode and its steps. */
export interface History {
  autoCapture: boolean
  steps: Step[]
}

export class LedgerViolation extends Error {
  constructor(
    readonly violations: string[],
    readonly log: string[]
  ) {
    super(`${violations.join("\n")}\n\nhistory:\n${log.map((line) => `  ${line}`).join("\n")}`)
    this.name = "LedgerViolation"
  }
}

export interface LedgerStats {
  histories: number
  steps: number
  commands: Record<StepType, number>
  violations: number
}

export function emptyStats(): LedgerStats {
  return {
    histories: 0,
    steps: 0,
    commands: Object.fromEntries(STEP_TYPES.map((type) => [type, 0])) as Record<StepType, number>,
    violations: 0,
  }
}

type Model = { shop: Shop }

/** A step as a fast-check command: it runs the step, then checks the ledger. */
class StepCommand implements fc.AsyncCommand<Model, Shop> {
  constructor(
    readonly step: Step,
    private readonly stats: LedgerStats
  ) {}

  check(model: Readonly<Model>): boolean {
    switch (this.step.t) {
      case "cart":
      case "collection":
      case "fault":
      case "outage":
        return true
      case "capture":
      case "refund":
      case "refund-fails":
      case "cancel-order":
        return model.shop.hasResource()
      case "dash-capture":
      case "dash-cancel":
      case "dash-refund":
      case "dispute":
      case "dispute-close":
        return model.shop.hasBooking()
      default:
        return model.shop.hasCart()
    }
  }

  async run(_model: Model, shop: Shop): Promise<void> {
    this.stats.steps += 1
    this.stats.commands[this.step.t] += 1
    await shop.apply(this.step)
    const violations = shop.violations(false)
    if (violations.length > 0) throw new LedgerViolation(violations, shop.log)
  }

  toString(): string {
    return describeStep(this.step)
  }
}

/** Runs one history against a reset emulator and returns what the invariant says at its end. */
export async function runHistory(
  shop: Shop,
  history: History,
  stats?: LedgerStats
): Promise<string[]> {
  shop.begin(history.autoCapture)
  if (stats) stats.histories += 1
  for (const step of history.steps) {
    if (stats) {
      stats.steps += 1
      stats.commands[step.t] += 1
    }
    await shop.apply(step)
    const violations = shop.violations(false)
    if (violations.length > 0) return violations
  }
  await shop.settle()
  return shop.violations(true)
}

export const MAX_STEPS = 20

/** `LEDGER_CAPTURE=manual|automatic` fixes how the card provider captures; both by default. */
export function ledgerProperty(shop: Shop, stats: LedgerStats) {
  const commands = fc.noBias(
    fc.commands(weightedCommands(stats), {
      maxCommands: MAX_STEPS,
      size: "max",
      replayPath: process.env.LEDGER_REPLAY_PATH,
    })
  )
  const capture = process.env.LEDGER_CAPTURE
  const autoCaptures =
    capture === "automatic" || capture === "manual"
      ? fc.constant(capture === "automatic")
      : fc.boolean()
  return fc.asyncProperty(autoCaptures, commands, async (autoCapture, cmds) => {
    shop.begin(autoCapture)
    stats.histories += 1
    await fc.asyncModelRun(() => ({ model: { shop }, real: shop }), cmds)
    await shop.settle()
    const violations = shop.violations(true)
    if (violations.length > 0) throw new LedgerViolation(violations, shop.log)
  })
}

/**
 * One arbitrary per unit of weight: fc.commands picks among its arbitraries uniformly.
 * `LEDGER_WITHOUT` (step types, comma-separated) leaves some out, to look past a violation
 * that would otherwise be found first in every run.
 */
function weightedCommands(stats: LedgerStats): fc.Arbitrary<StepCommand>[] {
  const without = new Set((process.env.LEDGER_WITHOUT ?? "").split(",").filter(Boolean))
  const kept = STEP_ARBITRARIES.filter(({ type }) => !without.has(type))
  return kept.flatMap(({ weight, arbitrary }) =>
    Array.from({ length: weight }, () => arbitrary.map((step) => new StepCommand(step, stats)))
  )
}

/** The steps that ran in a failing run's commands, for the printout and the regression file. */
export function stepsOf(counterexample: unknown): Step[] {
  const commands = counterexample as Iterable<{ hasRan: boolean; cmd: StepCommand }>
  return [...commands].filter((wrapper) => wrapper.hasRan).map((wrapper) => wrapper.cmd.step)
}

export interface Failure {
  seed: number
  path: string
  history: History
  violations: string[]
  log: string[]
}

/** A failure as it is printed: the replay, the violated invariants and one line per step. */
export function formatFailure(failure: Failure): string {
  return [
    `ledger invariant violated (replay: LEDGER_SEED=${failure.seed} LEDGER_PATH=${failure.path})`,
    ...failure.violations.map((v) => `  ! ${v}`),
    "history:",
    ...failure.log.map((line, i) => `  ${String(i).padStart(2)}. ${line}`),
    "as a regression case:",
    `  ${JSON.stringify(failure.history)}`,
  ].join("\n")
}

/** Replays a shrunk counterexample step by step for its readable log. */
export async function explain(
  shop: Shop,
  history: History
): Promise<{ violations: string[]; log: string[] }> {
  const violations = await runHistory(shop, history)
  return { violations, log: [...shop.log] }
}

/** Where the full run writes its counts. */
export const CHAOS_REPORT = path.join(__dirname, "..", "..", "..", "bench", "CHAOS.md")

/** Replaces (or appends) a section of bench/CHAOS.md, between markers named by `marker`. */
export function writeReport(section: string, marker = "ledger"): void {
  const START = `<!-- ${marker}:start -->`
  const END = `<!-- ${marker}:end -->`
  const current = fs.existsSync(CHAOS_REPORT) ? fs.readFileSync(CHAOS_REPORT, "utf8") : ""
  const block = `${START}\n${section.trim()}\n${END}`
  const start = current.indexOf(START)
  const end = current.indexOf(END)
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${block}\n`
  fs.writeFileSync(CHAOS_REPORT, next)
}
