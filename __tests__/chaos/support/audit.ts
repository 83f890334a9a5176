import { spawnSync } from "child_process"
import fs from "fs"
import path from "path"
import { REPO_ROOT } from "../../support"

export interface AuditResult {
  /** False when npm could not get an answer from the advisory service. */
  ran: boolean
  command: string
  /** Advisories by severity (info, low, moderate, high, critical). */
  vulnerabilities: Record<string, number>
  /** Packages with advisories, worst first. */
  advisories: { name: string; severity: string; title: string }[]
  /** Packages installed for production (what ships with the package and its peers). */
  productionPackages: number
  error?: string
}

interface AuditJson {
  vulnerabilities?: Record<string, { name: string; severity: string; via: unknown[] }>
  metadata?: { vulnerabilities?: Record<string, number> }
  message?: string
  error?: { summary?: string; detail?: string }
  statusCode?: number
}

const ORDER = ["critical", "high", "moderate", "low", "info"]

function productionPackages(): number {
  const lock = path.join(REPO_ROOT, "package-lock.json")
  if (!fs.existsSync(lock)) return 0
  const parsed = JSON.parse(fs.readFileSync(lock, "utf8")) as {
    packages?: Record<string, { dev?: boolean; devOptional?: boolean }>
  }
  return Object.entries(parsed.packages ?? {}).filter(
    ([key, entry]) => key !== "" && !entry.dev && !entry.devOptional
  ).length
}

/** `npm audit --omit=dev --json` in the repository. */
export function runAudit(): AuditResult {
  const command = "npm audit --omit=dev --json"
  const result = spawnSync("npm", ["audit", "--omit=dev", "--json"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 120_000,
    stdio: ["ignore", "pipe", "pipe"],
  })
  const base = {
    command,
    vulnerabilities: {},
    advisories: [],
    productionPackages: productionPackages(),
  }
  let parsed: AuditJson
  try {
    parsed = JSON.parse(result.stdout || "{}") as AuditJson
  } catch {
    return {
      ...base,
      ran: false,
      error: `unreadable output: ${(result.stdout || result.stderr).slice(0, 300)}`,
    }
  }
  const counts = parsed.metadata?.vulnerabilities
  if (!counts) {
    const reason =
      parsed.message ??
      parsed.error?.summary ??
      (result.error
        ? result.error.message
        : (result.stderr || "no answer").trim().split("\n").pop())
    return { ...base, ran: false, error: withoutUrls(String(reason)).slice(0, 300) }
  }
  const advisories = Object.values(parsed.vulnerabilities ?? {})
    .map((entry) => ({
      name: entry.name,
      severity: entry.severity,
      title: entry.via
        .map((via) =>
          via && typeof via === "object" ? String((via as { title?: string }).title) : String(via)
        )
        .join("; ")
        .slice(0, 200),
    }))
    .sort((a, b) => ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity))
  const vulnerabilities: Record<string, number> = {}
  for (const key of ORDER) {
    vulnerabilities[key] = Number(counts[key] ?? 0)
  }
  return { ...base, ran: true, vulnerabilities, advisories }
}

/** Keeps addresses of package servers out of reports. */
function withoutUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/\S+/g, "<registry>")
}
