#!/usr/bin/env node
/**
 * Builds the Medusa admin (`@medusajs/admin`, a webpack build of its React app) with this
 * plugin's widgets, for the demo (`npm start`) and the browser test, and keeps the result:
 *
 *   node scripts/admin-build.js           print the directory of a ready admin build
 *   node scripts/admin-build.js --json    print {"dir","key","cached","bundleMs","buildMs"}
 *   node scripts/admin-build.js --force   build again even when a build with the same key exists
 *
 * 1. The plugin's extension bundle, dist/admin/_virtual_entry.js (`medusa-admin bundle`, which
 *    `npm run build` also makes), is made again when missing or older than src/admin or
 *    src/core.
 * 2. The build's key is a hash of that bundle, the versions of the packages the admin is built
 *    from and the admin options. A build lives in .medusa/admin/<key>/ and is reused for as long
 *    as its key is the same; the three newest builds are kept.
 * 3. Medusa serves a build when medusa-config.js gets ADMIN_BUILD_DIR=<that directory>.
 *
 * The build runs in a Medusa app directory of its own (.medusa/admin/work-<pid>) that lists
 * this repository as a plugin with `enableUI: true`, exactly as a merchant's app would. Its
 * webpack configuration drops webpackbar's progress bar, which recent webpack versions refuse.
 */

const crypto = require("crypto")
const fs = require("fs")
const path = require("path")
const { spawnSync } = require("child_process")

const REPO = path.resolve(__dirname, "..")
const ADMIN_ROOT = path.join(REPO, ".medusa", "admin")
const BUNDLE_DIR = path.join(REPO, "dist", "admin")
const BUNDLE_ENTRY = path.join(BUNDLE_DIR, "_virtual_entry.js")
const ADMIN_OPTIONS = { path: "/app", backend: "/" }
const KEEP_BUILDS = 3
/** Part of the key: bump it when this script changes what it builds. */
const RECIPE = 1
const VERSIONED_PACKAGES = [
  "@medusajs/admin",
  "@medusajs/admin-ui",
  "@medusajs/ui",
  "@medusajs/ui-preset",
  "@medusajs/icons",
  "medusa-react",
  "react",
  "react-dom",
  "@tanstack/react-query",
  "webpack",
  "tailwindcss",
]

function log(line) {
  process.stderr.write(`[admin-build] ${line}\n`)
}

function packageVersion(name) {
  let dir = path.dirname(require.resolve(name, { paths: [REPO] }))
  while (dir !== path.dirname(dir)) {
    const file = path.join(dir, "package.json")
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
      if (pkg.name === name) {
        return pkg.version
      }
    }
    dir = path.dirname(dir)
  }
  throw new Error(`Cannot find the version of ${name}`)
}

function newestMtime(dir) {
  if (!fs.existsSync(dir)) {
    return 0
  }
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

function filesUnder(dir) {
  const files = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      files.push(...filesUnder(full))
    } else {
      files.push(full)
    }
  }
  return files.sort()
}

/** `medusa-admin bundle` when dist/admin is missing or older than its sources. */
function ensureBundle() {
  const sources = Math.max(
    newestMtime(path.join(REPO, "src", "admin")),
    newestMtime(path.join(REPO, "src", "core"))
  )
  if (fs.existsSync(BUNDLE_ENTRY) && fs.statSync(BUNDLE_ENTRY).mtimeMs >= sources) {
    return 0
  }
  const started = Date.now()
  log("bundling the plugin's admin extensions (medusa-admin bundle)")
  const admin = path.dirname(require.resolve("@medusajs/admin/package.json", { paths: [REPO] }))
  const result = spawnSync(
    process.execPath,
    [path.join(admin, "bin", "medusa-admin.js"), "bundle"],
    {
      cwd: REPO,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }
  )
  if (result.status !== 0 || !fs.existsSync(BUNDLE_ENTRY)) {
    throw new Error(
      `medusa-admin bundle failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`
    )
  }
  return Date.now() - started
}

function buildKey() {
  const hash = crypto.createHash("sha256")
  hash.update(JSON.stringify({ recipe: RECIPE, options: ADMIN_OPTIONS }))
  for (const name of VERSIONED_PACKAGES) {
    hash.update(`\n${name}@${packageVersion(name)}`)
  }
  for (const file of filesUnder(BUNDLE_DIR)) {
    hash.update(`\n${path.relative(BUNDLE_DIR, file)}\n`)
    hash.update(fs.readFileSync(file))
  }
  return hash.digest("hex").slice(0, 16)
}

function isBuild(dir) {
  return fs.existsSync(path.join(dir, "index.html")) && fs.existsSync(path.join(dir, "build.json"))
}

/** Keeps the newest builds (and `keep`), removes older ones and leftovers of dead processes. */
function prune(keep) {
  const entries = fs.existsSync(ADMIN_ROOT) ? fs.readdirSync(ADMIN_ROOT) : []
  for (const entry of entries) {
    const match = /^(?:work|tmp)-(?:[0-9a-f]+-)?(\d+)$/.exec(entry)
    if (match && Number(match[1]) !== process.pid && !processAlive(Number(match[1]))) {
      fs.rmSync(path.join(ADMIN_ROOT, entry), { recursive: true, force: true })
    }
  }
  const builds = entries
    .filter((entry) => /^[0-9a-f]{16}$/.test(entry) && entry !== keep)
    .map((entry) => path.join(ADMIN_ROOT, entry))
    .filter(isBuild)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)
  for (const dir of builds.slice(KEEP_BUILDS - 1)) {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === "EPERM"
  }
}

function writeWorkApp(work) {
  fs.rmSync(work, { recursive: true, force: true })
  fs.mkdirSync(path.join(work, "src", "admin"), { recursive: true })
  fs.writeFileSync(
    path.join(work, "package.json"),
    `${JSON.stringify({ name: "medusa-stripe-admin-build", private: true }, null, 2)}\n`
  )
  fs.writeFileSync(
    path.join(work, "medusa-config.js"),
    `module.exports = ${JSON.stringify(
      {
        plugins: [
          { resolve: REPO, options: { enableUI: true } },
          { resolve: "@medusajs/admin", options: { ...ADMIN_OPTIONS, serve: true } },
        ],
      },
      null,
      2
    )}\n`
  )
  fs.writeFileSync(
    path.join(work, "src", "admin", "webpack.config.js"),
    [
      "module.exports = (config) => {",
      '  config.plugins = config.plugins.filter((p) => p.constructor.name !== "WebpackBarPlugin")',
      "  return config",
      "}",
      "",
    ].join("\n")
  )
}

async function buildAdmin(dir, key, replace) {
  const work = path.join(ADMIN_ROOT, `work-${process.pid}`)
  const tmp = path.join(ADMIN_ROOT, `tmp-${key}-${process.pid}`)
  writeWorkApp(work)
  fs.rmSync(tmp, { recursive: true, force: true })
  const cwd = process.cwd()
  const started = Date.now()
  try {
    process.chdir(work)
    const { build } = require(require.resolve("@medusajs/admin-ui", { paths: [REPO] }))
    const { stats } = await build({
      appDir: work,
      buildDir: tmp,
      plugins: [REPO],
      options: { ...ADMIN_OPTIONS, outDir: tmp },
      reporting: "minimal",
    })
    if (stats.hasErrors()) {
      const errors = stats.toJson({ all: false, errors: true }).errors || []
      throw new Error(
        `webpack reported ${errors.length} error(s):\n${errors
          .slice(0, 5)
          .map((e) => (typeof e === "string" ? e : e.message))
          .join("\n")}`
      )
    }
    if (!fs.existsSync(path.join(tmp, "index.html"))) {
      throw new Error(`the admin build wrote no index.html in ${tmp}`)
    }
    const buildMs = Date.now() - started
    const versions = Object.fromEntries(VERSIONED_PACKAGES.map((n) => [n, packageVersion(n)]))
    fs.writeFileSync(
      path.join(tmp, "build.json"),
      `${JSON.stringify({ key, builtAt: new Date().toISOString(), buildMs, versions }, null, 2)}\n`
    )
    if (replace) {
      fs.rmSync(dir, { recursive: true, force: true })
    }
    try {
      fs.renameSync(tmp, dir)
    } catch (err) {
      // Another process finished the same build first: keep its directory.
      if (!isBuild(dir)) {
        throw err
      }
    }
    return buildMs
  } finally {
    process.chdir(cwd)
    fs.rmSync(work, { recursive: true, force: true })
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

async function main() {
  const args = new Set(process.argv.slice(2))
  // The admin's build logs with console.log: keep stdout for the result.
  console.log = console.error
  if (!fs.existsSync(path.join(REPO, "dist", "index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first.")
  }
  const bundleMs = ensureBundle()
  const key = buildKey()
  const dir = path.join(ADMIN_ROOT, key)
  fs.mkdirSync(ADMIN_ROOT, { recursive: true })
  let buildMs = 0
  const cached = isBuild(dir) && !args.has("--force")
  if (cached) {
    const now = new Date()
    fs.utimesSync(dir, now, now)
  } else {
    log(`building the Medusa admin into ${path.relative(REPO, dir)} (about a minute or two)`)
    buildMs = await buildAdmin(dir, key, args.has("--force"))
    log(`admin built in ${(buildMs / 1000).toFixed(1)} s`)
  }
  prune(key)
  const result = { dir, key, cached, bundleMs, buildMs }
  process.stdout.write(args.has("--json") ? `${JSON.stringify(result)}\n` : `${dir}\n`)
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${err && err.stack ? err.stack : err}`)
    process.exit(1)
  }
)
