import { spawn } from "child_process"
import fs from "fs"
import os from "os"
import path from "path"
import { chromium, type BrowserContext, type Page } from "playwright-core"

import { REPO_ROOT } from "./app"
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "./seed-data"

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium"
export const ARTIFACTS_DIR = path.join(REPO_ROOT, "__tests__", "artifacts")
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"])
const ADMIN_BUILD_SCRIPT = path.join(REPO_ROOT, "scripts", "admin-build.js")

export interface AdminBuild {
  /** A directory with the built admin (index.html and assets); give it as ADMIN_BUILD_DIR. */
  dir: string
  key: string
  /** True when a build with the same key was reused. */
  cached: boolean
  /** Time spent in `medusa-admin bundle` (0 when dist/admin was up to date). */
  bundleMs: number
  /** Time spent in the admin's webpack build (0 when cached). */
  buildMs: number
  /** Wall time of the whole step. */
  totalMs: number
}

/**
 * A Medusa admin build with the plugin's widgets, from `node scripts/admin-build.js`: reused
 * from .medusa/admin/<key> when the plugin's admin bundle and the admin packages are unchanged,
 * otherwise built (about a minute on two cores, longer on a busy machine).
 */
export function ensureAdminBuild(timeoutMs = 600_000): Promise<AdminBuild> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ADMIN_BUILD_SCRIPT, "--json"], {
      cwd: REPO_ROOT,
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      const line = stdout
        .trim()
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"))
      if (code !== 0 || !line) {
        const why = signal ? `signal ${signal}` : `exit ${code}`
        reject(new Error(`scripts/admin-build.js failed (${why}):\n${stderr.slice(-4000)}`))
        return
      }
      const result = JSON.parse(line) as Omit<AdminBuild, "totalMs">
      resolve({ ...result, totalMs: Date.now() - started })
    })
  })
}

export interface AdminBrowser {
  context: BrowserContext
  page: Page
  /** Where the admin is served, e.g. `http://127.0.0.1:9000/app`. */
  adminUrl: string
  /** Console errors and failed requests seen so far, for assertion messages. */
  problems: string[]
  /** Requests to anything but this machine, which the browser is never allowed to make. */
  external: string[]
  close(): Promise<void>
}

/** Headless Chromium (Debian's, at CHROMIUM_PATH) with a fresh profile, on the admin. */
export async function openAdminBrowser(backendUrl: string): Promise<AdminBrowser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH.`
    )
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-stripe-chromium-"))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1440, height: 1000 },
      locale: "en-US",
      timezoneId: "UTC",
      timeout: 60_000,
    })
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true })
    throw err
  }
  const problems: string[] = []
  const external: string[] = []
  await context.route(
    (url) => !LOCAL_HOSTS.has(url.hostname) && url.protocol !== "data:",
    (route) => {
      external.push(route.request().url())
      void route.abort("blockedbyclient")
    }
  )
  context.on("weberror", (error) => problems.push(`page error: ${error.error().message}`))
  const page = context.pages()[0] ?? (await context.newPage())
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console: ${message.text()}`)
    }
  })
  page.on("requestfailed", (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()}`)
  })
  return {
    context,
    page,
    adminUrl: `${backendUrl}/app`,
    problems,
    external,
    async close() {
      try {
        await context.close()
      } finally {
        fs.rmSync(profile, { recursive: true, force: true })
      }
    },
  }
}

/** Logs in through the admin's login form and waits for the orders list. */
export async function adminLogin(
  browser: AdminBrowser,
  email = ADMIN_EMAIL,
  password = ADMIN_PASSWORD
): Promise<void> {
  const { page } = browser
  await page.goto(`${browser.adminUrl}/login`, { waitUntil: "domcontentloaded" })
  await page.locator('input[name="email"]').fill(email)
  await page.locator('input[name="password"]').fill(password)
  await page.locator('button[type="submit"]').click()
  await page.waitForURL(/\/app\/a\//, { timeout: 30_000 })
}

/** Opens an order's page and waits until the Stripe widget has left its loading state. */
export async function openOrderWidget(
  browser: AdminBrowser,
  orderId: string,
  expected: "ready" | "empty" | "error" = "ready"
) {
  const { page } = browser
  await page.goto(`${browser.adminUrl}/a/orders/${orderId}`, { waitUntil: "domcontentloaded" })
  const widget = page.locator('[data-testid="stripe-payments-widget"]')
  await page
    .locator('[data-testid="stripe-payments-widget"]:not([data-state="loading"])')
    .waitFor({ timeout: 30_000 })
  const state = await widget.getAttribute("data-state")
  if (state !== expected) {
    throw new Error(
      `The Stripe widget of order ${orderId} is in state ${state}, not ${expected}:\n` +
        `${await widget.innerText()}\n${browser.problems.join("\n")}`
    )
  }
  return widget
}

/** Saves a PNG under __tests__/artifacts/ and returns its path. */
export async function saveScreenshot(
  target: Page | ReturnType<Page["locator"]>,
  name: string
): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, name)
  await target.screenshot({ path: file })
  return file
}
