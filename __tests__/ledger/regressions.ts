import type { History } from "./support/history"

/**
 * Histories that once broke the ledger invariant, shrunk, replayed as plain tests. Each names
 * what went wrong; a new counterexample from `npm run test:ledger` is added here as printed.
 */
export const REGRESSIONS: { name: string; history: History }[] = []
