#!/usr/bin/env node
/**
 * Runs one Medusa command in the Medusa app found in the current working directory, in this
 * very process (no `npx`, no child processes), so that stopping this process by its PID stops
 * everything it started.
 *
 *   node scripts/lib/medusa-backend.js start       serve on HOST:PORT (default 127.0.0.1:9000)
 *   node scripts/lib/medusa-backend.js migrate     core and plugin migrations
 *   node scripts/lib/medusa-backend.js seed FILE   `medusa seed -f FILE`
 *   node scripts/lib/medusa-backend.js setup FILE  migrate, then seed, in one process
 *   node scripts/lib/medusa-backend.js providers   print, as JSON, the plugins Medusa resolves
 *                                                  and the payment providers they register
 *
 * `@medusajs/medusa` is resolved from the app directory, exactly as `medusa start` would.
 */

const fs = require("fs")
const path = require("path")
const { createRequire } = require("module")
const { setInterval, setTimeout } = require("timers")

// Same default as the Medusa CLI; NODE_ENV=test would make Medusa load mocked services.
process.env.NODE_ENV = process.env.NODE_ENV || "development"

const directory = process.cwd()
const appRequire = createRequire(path.join(directory, "package.json"))
const medusaRoot = path.dirname(appRequire.resolve("@medusajs/medusa/package.json"))
const medusaRequire = createRequire(path.join(medusaRoot, "package.json"))

function medusa(subpath) {
  return medusaRequire(path.join(medusaRoot, "dist", subpath))
}

function out(line) {
  process.stdout.write(`[medusa-backend] ${line}\n`)
}

function resolvedPlugins() {
  const { getConfigFile } = medusaRequire("medusa-core-utils")
  const { configModule, error } = getConfigFile(directory, "medusa-config")
  if (error) {
    throw error
  }
  const { getResolvedPlugins } = medusa("loaders/helpers/resolve-plugins")
  return getResolvedPlugins(directory, configModule).filter(
    (plugin) => plugin.name !== "project-plugin"
  )
}

function paymentProviders(plugins) {
  const glob = medusaRequire("glob")
  const { AbstractPaymentProcessor } = medusa("interfaces")
  const { PaymentService } = medusaRequire("medusa-interfaces")
  const found = []
  for (const plugin of plugins) {
    const files = glob.sync(`${plugin.resolve}/services/[!__]*.js`, {})
    for (const file of files.sort()) {
      const loaded = require(file).default
      if (typeof loaded !== "function") {
        continue
      }
      if (
        AbstractPaymentProcessor.isPaymentProcessor(loaded.prototype) ||
        PaymentService.isPaymentService(loaded.prototype)
      ) {
        found.push({ id: loaded.identifier, plugin: plugin.name, file })
      }
    }
  }
  return found
}

function describePlugins(plugins = resolvedPlugins()) {
  for (const plugin of plugins) {
    out(`plugin ${plugin.name}@${plugin.version} from ${plugin.resolve}`)
  }
}

async function start() {
  const express = medusaRequire("express")
  const { GracefulShutdownServer } = medusaRequire("medusa-core-utils")
  const loaders = medusa("loaders").default

  const host = process.env.HOST || "127.0.0.1"
  const port = Number(process.env.PORT || 9000)

  describePlugins()
  const app = express()
  const { shutdown, prepareShutdown } = await loaders({ directory, expressApp: app })

  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, host)
    listening.once("listening", () => resolve(listening))
    listening.once("error", reject)
  })
  const graceful = GracefulShutdownServer.create(server)
  const address = server.address()
  out(`listening on http://${host}:${address.port} pid ${process.pid}`)

  let stopping = false
  const stop = (signal) => {
    if (stopping) {
      return
    }
    stopping = true
    out(`${signal} received, shutting down`)
    const force = setTimeout(() => {
      out("shutdown timed out, exiting")
      process.exit(1)
    }, 10000)
    force.unref()
    graceful
      .shutdown()
      .then(() => prepareShutdown())
      .then(() => shutdown())
      .then(() => process.exit(0))
      .catch((err) => {
        out(`shutdown failed: ${err && err.stack ? err.stack : err}`)
        process.exit(1)
      })
  }
  process.on("SIGTERM", () => stop("SIGTERM"))
  process.on("SIGINT", () => stop("SIGINT"))
}

/** `medusa migrations run`, returning instead of exiting when `keepRunning` is set. */
async function runMigrations(keepRunning) {
  // The migrate command reads its sub-command from argv (`medusa migrations run`) and ends
  // with process.exit(); a later step in the same process needs it to return instead.
  const argv = process.argv
  process.argv = [argv[0], "medusa", "migrations", "run"]
  const exit = process.exit
  if (keepRunning) {
    process.exit = (code) => {
      if (code) {
        exit(code)
      }
    }
  }
  try {
    await medusa("commands/migrate").default({ directory })
  } finally {
    process.exit = exit
    process.argv = argv
  }
  out(`migrations completed at ${Math.round(process.uptime() * 1000)} ms`)
}

async function migrate() {
  describePlugins()
  await runMigrations(false)
  process.exit(0)
}

/**
 * Region payment providers listed in the seed file's `optional_payment_providers` are dropped
 * from the regions when no installed plugin registers them; the rest is `medusa seed -f FILE`.
 */
function prepareSeedFile(file, registered) {
  const data = JSON.parse(fs.readFileSync(file, "utf8"))
  const optional = new Set(data.optional_payment_providers || [])
  if (optional.size === 0) {
    return file
  }
  const available = new Set(registered)
  for (const region of data.regions || []) {
    const providers = region.payment_providers || []
    const dropped = providers.filter((id) => optional.has(id) && !available.has(id))
    if (dropped.length > 0) {
      out(`region ${region.name}: skipping unregistered payment providers ${dropped.join(", ")}`)
    }
    region.payment_providers = providers.filter((id) => !dropped.includes(id))
  }
  delete data.optional_payment_providers
  const prepared = file.replace(/(\.json)?$/, ".prepared.json")
  fs.writeFileSync(prepared, JSON.stringify(data, null, 2))
  return prepared
}

async function seed(file, withMigrations) {
  if (!file) {
    throw new Error(`usage: medusa-backend.js ${withMigrations ? "setup" : "seed"} <file>`)
  }
  const plugins = resolvedPlugins()
  const registered = paymentProviders(plugins).map((p) => p.id)
  describePlugins(plugins)
  out(`payment providers: ${registered.join(",")}`)
  if (withMigrations) {
    await runMigrations(true)
  }
  await medusa("commands/seed").default({
    directory,
    migrate: false,
    seedFile: prepareSeedFile(path.resolve(file), registered),
  })
  out(`seed completed at ${Math.round(process.uptime() * 1000)} ms`)
  process.exit(0)
}

function providers() {
  const plugins = resolvedPlugins()
  const result = {
    plugins: plugins.map((p) => ({ name: p.name, version: p.version, resolve: p.resolve })),
    paymentProviders: paymentProviders(plugins),
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}

/**
 * With MEDUSA_BACKEND_WATCH_PARENT=1 the process stops itself when the process that spawned
 * it goes away (a test runner killed hard), so that no server outlives its test run.
 */
function watchParent() {
  if (process.env.MEDUSA_BACKEND_WATCH_PARENT !== "1") {
    return
  }
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      out(`parent process ${parent} exited, stopping`)
      process.kill(process.pid, "SIGTERM")
      setTimeout(() => process.exit(1), 5000).unref()
    }
  }, 500)
  timer.unref()
}

async function main() {
  watchParent()
  const [command, arg] = process.argv.slice(2)
  switch (command) {
    case "start":
      return start()
    case "migrate":
      return migrate()
    case "seed":
      return seed(arg, false)
    case "setup":
      return seed(arg, true)
    case "providers":
      return providers()
    default:
      throw new Error(
        `unknown command ${JSON.stringify(command)}: use start, migrate, seed, setup, providers`
      )
  }
}

main().catch((err) => {
  process.stderr.write(`[medusa-backend] ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
