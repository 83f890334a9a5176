import { spawn, spawnSync } from "child_process"
import { randomBytes } from "crypto"
import fs from "fs"
import path from "path"

import type { SeedData } from "./seed-data"

export const REPO_ROOT = path.resolve(__dirname, "..", "..")
export const PLUGIN_NAME = "medusa-stripe-payments"
export const E2E_ROOT = path.join(REPO_ROOT, ".e2e")
/** Runs Medusa commands in-process: see the file's header. */
export const BACKEND_SCRIPT = path.join(REPO_ROOT, "scripts", "lib", "medusa-backend.js")
const FULFILLMENT_SERVICE = path.join(REPO_ROOT, "scripts", "lib", "manual-fulfillment.js")

export type Env = Record<string, string>

/** Variables of the test runner's environment that must not reach a backend by accident. */
const INHERITED_VARIABLE_BLOCKLIST = [
  /^NODE_ENV$/,
  /^DATABASE_URL$/,
  /^REDIS_URL$/,
  /^STRIPE_/,
  /^PORT$/,
]

/** The environment of a Medusa process: the test runner's, minus the blocklist, plus `layers`. */
export function backendEnv(...layers: (Env | undefined)[]): Env {
  const env: Env = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !INHERITED_VARIABLE_BLOCKLIST.some((re) => re.test(key))) {
      env[key] = value
    }
  }
  for (const layer of layers) {
    Object.assign(env, layer ?? {})
  }
  return env
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  })
  if (result.error) {
    throw result.error
  }
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`
    )
  }
  return result.stdout
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes `.e2e/app-<pid>-*` and `.e2e/pack-<pid>` directories of test processes now gone. */
export function removeStaleScratchDirs(): void {
  if (!fs.existsSync(E2E_ROOT)) {
    return
  }
  for (const entry of fs.readdirSync(E2E_ROOT)) {
    const match = /^(?:pack|app)-(\d+)(?:-[0-9a-f]+)?$/.exec(entry)
    const pid = match ? Number(match[1]) : 0
    if (pid && pid !== process.pid && !processAlive(pid)) {
      fs.rmSync(path.join(E2E_ROOT, entry), { recursive: true, force: true })
    }
  }
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

export interface PackedPlugin {
  tarball: string
  /** Milliseconds spent in `npm pack` (0 when an earlier pack of this process was reused). */
  durationMs: number
}

/**
 * `npm pack` of the repository, once per test process: the tarball is kept in
 * `.e2e/pack-<pid>/` and reused while dist/ is unchanged. Requires a build (`npm run build`).
 */
export function packPlugin(): PackedPlugin {
  const dist = path.join(REPO_ROOT, "dist")
  if (!fs.existsSync(dist) || fs.readdirSync(dist).length === 0) {
    throw new Error(
      `${dist} is missing: run \`npm run build\` before the end-to-end tests (they install the plugin from its npm pack tarball).`
    )
  }
  removeStaleScratchDirs()
  fs.mkdirSync(E2E_ROOT, { recursive: true })
  const packDir = path.join(E2E_ROOT, `pack-${process.pid}`)
  const stampFile = path.join(packDir, "stamp.json")
  const stamp = String(newestMtime(dist))
  if (fs.existsSync(stampFile)) {
    const cached = JSON.parse(fs.readFileSync(stampFile, "utf8")) as {
      stamp: string
      tarball: string
    }
    if (cached.stamp === stamp && fs.existsSync(cached.tarball)) {
      return { tarball: cached.tarball, durationMs: 0 }
    }
  }
  fs.rmSync(packDir, { recursive: true, force: true })
  fs.mkdirSync(packDir, { recursive: true })
  const started = Date.now()
  const output = run(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir],
    REPO_ROOT
  )
  const parsed = JSON.parse(output.slice(output.indexOf("["))) as { filename: string }[]
  const tarball = path.join(packDir, path.basename(parsed[0].filename))
  if (!fs.existsSync(tarball)) {
    throw new Error(`npm pack reported ${parsed[0].filename} but ${tarball} does not exist`)
  }
  fs.writeFileSync(stampFile, JSON.stringify({ stamp, tarball }))
  return { tarball, durationMs: Date.now() - started }
}

export interface ScratchApp {
  id: string
  /** The Medusa app directory (`.e2e/app-<pid>-<random>`), the cwd of its Medusa processes. */
  dir: string
  /** Where the tarball was extracted: `<dir>/node_modules/medusa-stripe-payments`. */
  pluginDir: string
  tarball: string
  /** Environment of every Medusa process of this app (database, telemetry, plugin). */
  env: Env
  remove(): void
}

export interface ScratchAppOptions {
  databaseUrl: string
  tarball?: string
  env?: Env
}

/**
 * A Medusa app inside the repository (so that Node finds `@medusajs/medusa`, `typeorm` and
 * `stripe` in the repository's node_modules), with the plugin extracted from its tarball into
 * its own node_modules and a medusa-config.js that re-exports the top-level one.
 */
export function createScratchApp(options: ScratchAppOptions): ScratchApp {
  const tarball = options.tarball ?? packPlugin().tarball
  const id = `${process.pid}-${randomBytes(4).toString("hex")}`
  const dir = path.join(E2E_ROOT, `app-${id}`)
  const pluginDir = path.join(dir, "node_modules", PLUGIN_NAME)
  const configHome = path.join(dir, ".config")

  fs.mkdirSync(pluginDir, { recursive: true })
  fs.mkdirSync(path.join(dir, "dist", "services"), { recursive: true })
  fs.mkdirSync(path.join(configHome, "medusa"), { recursive: true })

  run("tar", ["-xzf", tarball, "-C", pluginDir, "--strip-components=1"], dir)

  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify(
      {
        name: `medusa-stripe-e2e-app-${id}`,
        private: true,
        dependencies: { [PLUGIN_NAME]: `file:${path.relative(dir, tarball)}` },
      },
      null,
      2
    )}\n`
  )
  fs.writeFileSync(
    path.join(dir, "medusa-config.js"),
    `module.exports = require(${JSON.stringify(path.join(REPO_ROOT, "medusa-config.js"))})\n`
  )
  fs.copyFileSync(FULFILLMENT_SERVICE, path.join(dir, "dist", "services", "manual-fulfillment.js"))
  fs.writeFileSync(
    path.join(configHome, "medusa", "config.json"),
    JSON.stringify({ telemetry: { enabled: false } })
  )

  return {
    id,
    dir,
    pluginDir,
    tarball,
    env: {
      DATABASE_URL: options.databaseUrl,
      STRIPE_PLUGIN_RESOLVE: PLUGIN_NAME,
      XDG_CONFIG_HOME: configHome,
      MEDUSA_DISABLE_TELEMETRY: "true",
      NODE_ENV: "development",
      MEDUSA_BACKEND_WATCH_PARENT: "1",
      ...options.env,
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface CommandResult {
  output: string
  durationMs: number
}

/** Runs `scripts/lib/medusa-backend.js <command>` in the app and resolves with its output. */
export function runMedusaCommand(
  app: ScratchApp,
  args: string[],
  options: { env?: Env; timeoutMs?: number } = {}
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BACKEND_SCRIPT, ...args], {
      cwd: app.dir,
      env: backendEnv(app.env, options.env),
      stdio: ["ignore", "pipe", "pipe"],
    })
    const out: string[] = []
    const err: string[] = []
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => out.push(chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      out.push(chunk)
      err.push(chunk)
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      const output = out.join("")
      if (code === 0) {
        resolve({ output, durationMs: Date.now() - started })
        return
      }
      const why = signal ? `signal ${signal}` : `exit ${code}`
      const lastLines = (text: string, n: number) => text.trimEnd().split("\n").slice(-n).join("\n")
      reject(
        new Error(
          `medusa ${args.join(" ")} failed (${why}) in ${app.dir}\n` +
            `--- stderr (end) ---\n${lastLines(err.join(""), 40)}\n` +
            `--- output (end) ---\n${lastLines(output, 30)}`
        )
      )
    })
  })
}

/** Core migrations and the migrations of every listed plugin. */
export async function migrate(app: ScratchApp, env?: Env): Promise<CommandResult> {
  return runMedusaCommand(app, ["migrate"], { env })
}

export interface SeedResult extends CommandResult {
  /** Payment providers the installed plugins register. */
  paymentProviders: string[]
}

function reportedPaymentProviders(output: string): string[] {
  const line = /\[medusa-backend\] payment providers: (.*)/.exec(output)
  return line ? line[1].split(",").filter(Boolean) : []
}

/** `medusa seed` with the given data (see seed-data.ts for `buildSeedData`). */
export async function seed(app: ScratchApp, data: SeedData, env?: Env): Promise<SeedResult> {
  const file = path.join(app.dir, `seed-${Date.now()}.json`)
  fs.writeFileSync(file, JSON.stringify(data, null, 2))
  const result = await runMedusaCommand(app, ["seed", file], { env })
  return { ...result, paymentProviders: reportedPaymentProviders(result.output) }
}

export interface SetupResult extends SeedResult {
  /** Process start to migrations done, and migrations done to seed done. */
  migrateMs: number
  seedMs: number
}

/** `migrate` then `seed` in one Medusa process (saves loading Medusa twice). */
export async function migrateAndSeed(
  app: ScratchApp,
  data: SeedData,
  env?: Env
): Promise<SetupResult> {
  const file = path.join(app.dir, `seed-${Date.now()}.json`)
  fs.writeFileSync(file, JSON.stringify(data, null, 2))
  const result = await runMedusaCommand(app, ["setup", file], { env })
  const at = (what: string) => {
    const match = new RegExp(`\\[medusa-backend\\] ${what} completed at (\\d+) ms`).exec(
      result.output
    )
    return match ? Number(match[1]) : 0
  }
  return {
    ...result,
    paymentProviders: reportedPaymentProviders(result.output),
    migrateMs: at("migrations"),
    seedMs: Math.max(0, at("seed") - at("migrations")),
  }
}

export interface PluginInfo {
  plugins: { name: string; version: string; resolve: string }[]
  paymentProviders: { id: string; plugin: string; file: string }[]
}

/** The plugins Medusa resolves for the app and the payment providers they register. */
export async function inspectPlugins(app: ScratchApp, env?: Env): Promise<PluginInfo> {
  const result = await runMedusaCommand(app, ["providers"], { env })
  const line = result.output.split("\n").find((l) => l.startsWith("{"))
  if (!line) {
    throw new Error(`No plugin information in:\n${result.output}`)
  }
  return JSON.parse(line) as PluginInfo
}
