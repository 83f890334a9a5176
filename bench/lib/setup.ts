import { spawnSync } from "child_process"
import { randomBytes } from "crypto"
import fs from "fs"
import path from "path"

import {
  REPO_ROOT,
  adminClient,
  waitFor,
  connectDb,
  createScratchApp,
  createTestDatabase,
  dropStaleTestDatabases,
  migrateAndSeed,
  packPlugin,
  startBackend,
  startEmulator,
  storeClient,
  type AdminClient,
  type ApiClient,
  type Backend,
  type Db,
  type Env,
  type ScratchApp,
  type SeedData,
  type StripeEmulator,
  type TestDatabase,
} from "../../__tests__/support"
import type { MemorySnapshot } from "./load"

export const BENCH_DIR = path.resolve(__dirname, "..")
export const WORK_DIR = path.join(BENCH_DIR, ".work")
export const OFFICIAL_PACKAGE = "medusa-payment-stripe"
export const OFFICIAL_VERSION = "6.0.11"
export const OFFICIAL_DIR = path.join(WORK_DIR, `official-${OFFICIAL_VERSION}`)
const SHIM = path.join(__dirname, "stripe-host-shim.js")
const GC_PROBE = path.join(__dirname, "gc-probe.js")
const DATABASE_PREFIX = "medusa_stripe_bench"

export type ConfigName = "ours" | "official" | "manual"

export interface BackendConfig {
  name: ConfigName
  label: string
  /** The payment provider its checkouts select. */
  provider: "stripe" | "manual"
  env: Env
  /** Files the backend loads with `--require` (after gc-probe.js, which every backend loads). */
  preload: string[]
}

export interface BenchEnvironment {
  database: TestDatabase
  app: ScratchApp
  db: Db
  emulator: StripeEmulator
  /** Environment every backend gets (database, Stripe key and host, webhook secret). */
  env: Env
  webhookSecret: string
  officialPluginDir: string
  configs: Record<ConfigName, BackendConfig>
  shutdown(): Promise<void>
}

export interface RunningBackend {
  config: BackendConfig
  backend: Backend
  store: ApiClient
  admin: AdminClient
}

function log(line: string): void {
  process.stdout.write(`[bench] ${line}\n`)
}

function installedVersion(dir: string, name: string): string | undefined {
  const manifest = path.join(dir, "node_modules", name, "package.json")
  if (!fs.existsSync(manifest)) {
    return undefined
  }
  return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: string }).version
}

/**
 * The official plugin, installed once into `bench/.work/official-<version>/` and reused by
 * later runs. Legacy peer dependencies keep npm from installing a second `@medusajs/medusa`:
 * the plugin resolves Medusa from the repository's node_modules, like the scratch app does.
 */
export function ensureOfficialPlugin(): string {
  const pluginDir = path.join(OFFICIAL_DIR, "node_modules", OFFICIAL_PACKAGE)
  if (installedVersion(OFFICIAL_DIR, OFFICIAL_PACKAGE) === OFFICIAL_VERSION) {
    return pluginDir
  }
  log(
    `installing ${OFFICIAL_PACKAGE}@${OFFICIAL_VERSION} into ${path.relative(REPO_ROOT, OFFICIAL_DIR)}`
  )
  fs.mkdirSync(OFFICIAL_DIR, { recursive: true })
  fs.writeFileSync(
    path.join(OFFICIAL_DIR, "package.json"),
    `${JSON.stringify({ name: "bench-official-stripe-plugin", private: true }, null, 2)}\n`
  )
  const result = spawnSync(
    "npm",
    [
      "install",
      "--no-save",
      "--legacy-peer-deps",
      "--no-audit",
      "--no-fund",
      `${OFFICIAL_PACKAGE}@${OFFICIAL_VERSION}`,
    ],
    { cwd: OFFICIAL_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }
  )
  if (result.status !== 0) {
    throw new Error(`npm install ${OFFICIAL_PACKAGE} failed:\n${result.stdout}\n${result.stderr}`)
  }
  if (installedVersion(OFFICIAL_DIR, OFFICIAL_PACKAGE) !== OFFICIAL_VERSION) {
    throw new Error(
      `${OFFICIAL_PACKAGE}@${OFFICIAL_VERSION} is not in ${OFFICIAL_DIR} after install`
    )
  }
  if (fs.existsSync(path.join(OFFICIAL_DIR, "node_modules", "@medusajs", "medusa"))) {
    throw new Error(`npm installed a second @medusajs/medusa into ${OFFICIAL_DIR}`)
  }
  return pluginDir
}

/** The version of a package the official plugin resolves (e.g. its `stripe`). */
export function officialDependencyVersion(name: string): string | undefined {
  return installedVersion(OFFICIAL_DIR, name)
}

/** PostgreSQL connections per backend (Medusa's default of 10 deadlocks at 16 concurrent checkouts). */
export const DATABASE_POOL_SIZE = 32

/**
 * The app's medusa-config.js: the repository's, with a database pool of
 * {@link DATABASE_POOL_SIZE} for every backend (Medusa's default with BENCH_DEFAULT_POOL=1);
 * BENCH_MANUAL_ONLY=1 leaves only
 * medusa-payment-manual (the backend without any Stripe plugin).
 */
function writeBenchConfig(app: ScratchApp): void {
  const base = JSON.stringify(path.join(REPO_ROOT, "medusa-config.js"))
  fs.writeFileSync(
    path.join(app.dir, "medusa-config.js"),
    [
      `const config = require(${base})`,
      `const projectConfig =`,
      `  process.env.BENCH_DEFAULT_POOL === "1"`,
      `    ? config.projectConfig`,
      `    : {`,
      `        ...config.projectConfig,`,
      `        database_extra: { ...config.projectConfig.database_extra, max: ${DATABASE_POOL_SIZE} },`,
      `      }`,
      `const plugins =`,
      `  process.env.BENCH_MANUAL_ONLY === "1"`,
      `    ? config.plugins.filter((p) => p === "medusa-payment-manual")`,
      `    : config.plugins`,
      `module.exports = { ...config, projectConfig, plugins }`,
      "",
    ].join("\n")
  )
}

export interface SetupOptions {
  seed: SeedData
}

/** One database, one Medusa app, one emulator; migrations and seed run with this plugin. */
export async function setupEnvironment(options: SetupOptions): Promise<BenchEnvironment> {
  const cleanups: (() => Promise<void> | void)[] = []
  const shutdown = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup()
      } catch (err) {
        log(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  }
  try {
    const officialPluginDir = ensureOfficialPlugin()
    await dropStaleTestDatabases(DATABASE_PREFIX)
    const database = await createTestDatabase(DATABASE_PREFIX)
    cleanups.push(() => database.drop())
    const packed = packPlugin()
    const app = createScratchApp({ databaseUrl: database.url, tarball: packed.tarball })
    cleanups.push(() => app.remove())
    writeBenchConfig(app)

    const apiKey = `sk_test_bench${randomBytes(12).toString("hex")}`
    const webhookSecret = `whsec_bench${randomBytes(16).toString("hex")}`
    const started = await startEmulator(app, apiKey)
    if (!started) {
      throw new Error("The Stripe emulator is not built (dist/emulator): run `npm run build`")
    }
    const emulator = started.emulator
    cleanups.push(() => emulator.stop())
    const env: Env = { ...started.env, STRIPE_WEBHOOK_SECRET: webhookSecret }

    log("migrations and seed")
    await migrateAndSeed(app, options.seed, env)
    const db = await connectDb(database.url)
    cleanups.push(() => db.close())

    const configs: Record<ConfigName, BackendConfig> = {
      ours: {
        name: "ours",
        label: "medusa-stripe-payments",
        provider: "stripe",
        env: {},
        preload: [],
      },
      official: {
        name: "official",
        label: `${OFFICIAL_PACKAGE}@${OFFICIAL_VERSION}`,
        provider: "stripe",
        env: {
          STRIPE_PLUGIN_RESOLVE: officialPluginDir,
          BENCH_STRIPE_SHIM_FROM: officialPluginDir,
        },
        preload: [SHIM],
      },
      manual: {
        name: "manual",
        label: "medusa-payment-manual only",
        provider: "manual",
        env: { BENCH_MANUAL_ONLY: "1" },
        preload: [],
      },
    }
    return { database, app, db, emulator, env, webhookSecret, officialPluginDir, configs, shutdown }
  } catch (err) {
    await shutdown()
    throw err
  }
}

/** Starts the backend of one configuration and checks that it loaded what it should. */
export async function startConfig(
  bench: BenchEnvironment,
  config: BackendConfig
): Promise<RunningBackend> {
  const nodeOptions = [
    process.env.NODE_OPTIONS,
    ...[GC_PROBE, ...config.preload].map((file) => `--require ${file}`),
  ]
  const backend = await startBackend({
    app: bench.app,
    env: { ...bench.env, ...config.env, NODE_OPTIONS: nodeOptions.filter(Boolean).join(" ") },
    timeoutMs: 120_000,
  })
  const names = backend.plugins.map((p) => p.name)
  const expected: Record<ConfigName, string | undefined> = {
    ours: "medusa-stripe-payments",
    official: OFFICIAL_PACKAGE,
    manual: undefined,
  }
  const stripePlugins = names.filter(
    (n) => n === "medusa-stripe-payments" || n === OFFICIAL_PACKAGE
  )
  const want = expected[config.name]
  if (
    (want && (stripePlugins.length !== 1 || stripePlugins[0] !== want)) ||
    (!want && stripePlugins.length > 0)
  ) {
    await backend.stop()
    throw new Error(`Backend ${config.name} loaded ${names.join(", ")}`)
  }
  if (
    config.name === "official" &&
    !backend.logs().some((l) => l.startsWith("[bench-shim] stripe@"))
  ) {
    await backend.stop()
    throw new Error("The Stripe host shim did not load in the official plugin's backend")
  }
  const store = storeClient(backend.url)
  const admin = adminClient(backend.url)
  await admin.login()
  log(`${config.label}: backend pid ${backend.pid} healthy in ${backend.bootMs} ms`)
  return { config, backend, store, admin }
}

/** Resident set size of a process, in MiB (from /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (!match) {
    throw new Error(`No VmRSS for pid ${pid}`)
  }
  return Number(match[1]) / 1024
}

const GC_LINE = "[bench-gc] "

/** Asks the backend for a full garbage collection (gc-probe.js) and reads its memory. */
export async function gcSnapshot(backend: Backend, checkouts: number): Promise<MemorySnapshot> {
  const lines = () => backend.logs().filter((line) => line.startsWith(GC_LINE))
  const seen = lines().length
  process.kill(backend.pid, "SIGUSR2")
  const line = await waitFor(() => lines()[seen], {
    timeoutMs: 30_000,
    intervalMs: 20,
    description: "the backend's memory after a full collection",
  })
  const parsed = JSON.parse(line.slice(GC_LINE.length)) as { rss: number; heapUsed: number }
  return {
    checkouts,
    rssMiB: parsed.rss / 1024 ** 2,
    heapUsedMiB: parsed.heapUsed / 1024 ** 2,
  }
}
