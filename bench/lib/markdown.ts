/** Figures and tables of the bench's Markdown reports. */

/** A number with `digits` decimals, or a dash when it was not measured. */
export const num = (v: number | undefined, digits = 1): string =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits)

/** Milliseconds, rounded, or a dash. */
export const ms = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? "–" : `${Math.round(v)}`

/** A Markdown table whose columns after the first are right-aligned. */
export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n")
}
