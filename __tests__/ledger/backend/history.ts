import fc from "fast-check"
import type { Storefront } from "./storefront"
import { describeStep, PROVIDER, STEP_ARBITRARIES, type Provider, type Step } from "./steps"

/** A history that broke the invariant: what broke and one line per step, as it ran. */
export class BackendViolation extends Error {
  constructor(
    readonly violations: string[],
    readonly log: string[]
  ) {
    super(`${violations.join("\n")}\n\nhistory:\n${log.map((line) => `  ${line}`).join("\n")}`)
    this.name = "BackendViolation"
  }
}

export const MAX_STEPS = 12

type Model = Record<string, never>

/** A step as a fast-check command; the invariant is checked once the history has settled. */
class StepCommand implements fc.AsyncCommand<Model, Storefront> {
  constructor(readonly step: Step) {}

  check(): boolean {
    return true
  }

  async run(_model: Model, storefront: Storefront): Promise<void> {
    await storefront.apply(this.step)
  }

  toString(): string {
    return describeStep(this.step)
  }
}

/** Runs one history from its first step and returns the invariant's violations once settled. */
export async function runHistory(
  storefront: Storefront,
  steps: Step[],
  first?: Provider
): Promise<string[]> {
  await storefront.begin(first)
  for (const step of steps) await storefront.apply(step)
  return storefront.settle()
}

/** Histories of up to MAX_STEPS steps, each through the backend, settled, then checked. */
export function backendProperty(storefront: Storefront, onHistory: () => void) {
  const commands = fc.noBias(
    fc.commands(
      STEP_ARBITRARIES.flatMap(({ weight, arbitrary }) =>
        Array.from({ length: weight }, () => arbitrary.map((step) => new StepCommand(step)))
      ),
      { maxCommands: MAX_STEPS, size: "max" }
    )
  )
  return fc.asyncProperty(PROVIDER, commands, async (first, cmds) => {
    onHistory()
    await storefront.begin(first)
    await fc.asyncModelRun(() => ({ model: {}, real: storefront }), cmds)
    const violations = await storefront.settle()
    if (process.env.LEDGER_VERBOSE === "1") {
      process.stdout.write(`history:\n${storefront.log.map((line) => `  ${line}`).join("\n")}\n`)
    }
    if (violations.length > 0) throw new BackendViolation(violations, storefront.log)
  })
}

/** A failing run's history: the first cart's provider, then the steps that ran. */
export function stepsOf(counterexample: unknown): Step[] {
  const [first, commands] = counterexample as [
    Provider,
    Iterable<{ hasRan: boolean; cmd: StepCommand }>,
  ]
  const ran = [...commands].filter((wrapper) => wrapper.hasRan).map((wrapper) => wrapper.cmd.step)
  return [{ t: "cart", quantity: 1, provider: first }, ...ran]
}

export function formatFailure(failure: {
  seed: number
  path: string
  violations: string[]
  log: string[]
  steps: Step[]
}): string {
  return [
    `ledger invariant violated through the backend (replay: LEDGER_BACKEND_SEED=${failure.seed} LEDGER_BACKEND_PATH=${failure.path})`,
    ...failure.violations.map((v) => `  ! ${v}`),
    "history:",
    ...failure.log.map((line, i) => `  ${String(i).padStart(2)}. ${line}`),
    "as a regression case:",
    `  ${JSON.stringify(failure.steps)}`,
  ].join("\n")
}
