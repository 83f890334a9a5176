/**
 * A merchant's first hour, scripted: a fresh clone, `npm install`, `npm start` while ports
 * 9000 and 12111 are taken, the printed walk-through, a restart, the walk-through again, and
 * SIGTERM to npm's PID, as a process manager or `docker stop` sends it.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process"
import fs from "fs"
import net from "net"
import os from "os"
import path from "path"
import { createTestDatabase, type TestDatabase } from "../support/db"
import { waitFor } from "../support/wait"

const REPO = path.resolve(__dirname, "..", "..")
const INSTALL_TIMEOUT = 240_000
const START_TIMEOUT = 150_000
const STOP_TIMEOUT = 30_000

/** The environment of someone who just cloned: none of the demo's variables set. */
function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (
      key.startsWith("npm_") ||
      key.startsWith("STRIPE_") ||
      key.startsWith("DEMO_") ||
      key.startsWith("MEDUSA_") ||
      ["PORT", "HOST", "DATABASE_URL", "REDIS_URL", "ADMIN_BUILD_DIR", "NODE_ENV"].includes(key)
    ) {
      continue
    }
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Listens on 127.0.0.1:port unless something already does; either way the port is taken. */
function occupy(port: number): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end())
    server.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" ? resolve(null) : reject(err)
    )
    server.listen(port, "127.0.0.1", () => resolve(server))
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })
}

interface Run {
  npm: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

/** `npm start` in the clone; stdout and stderr together, as a terminal shows them. */
function npmStart(dir: string, env: NodeJS.ProcessEnv): Run {
  let output = ""
  const npm = spawn("npm", ["start"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] })
  npm.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  npm.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)))
  return { npm, output: () => output, exited }
}

/** The shell lines of the printed walk-through, from `API=` to the closing rule. */
function walkthroughOf(output: string): string[] {
  const lines = output.split("\n")
  const start = lines.findIndex((line) => line.startsWith("API="))
  const end = lines.findIndex((line, i) => i > start && line.startsWith("━━━"))
  if (start < 0 || end < 0) throw new Error(`No walk-through in:\n${output}`)
  return lines.slice(start, end)
}

interface Followed {
  output: string[]
  order: string
  intent: string
}

/** Runs the walk-through in bash, as a newcomer pasting it would, and reads its answers. */
function follow(lines: string[]): Followed {
  const result = spawnSync("bash", ["-c", lines.join("\n")], { encoding: "utf8", timeout: 60_000 })
  const output = result.stdout.trim().split("\n")
  const json = output.filter((line) => line.startsWith("{") || line.startsWith("["))
  const completed = JSON.parse(json.find((line) => line.includes('"type"')) ?? "{}") as {
    type?: string
    order?: string
    payment_status?: string
  }
  const intent = /^PaymentIntent: (pi_\w+)$/m.exec(result.stdout)?.[1]
  if (completed.type !== "order" || !completed.order || !intent) {
    throw new Error(`The walk-through did not end in an order:\n${result.stdout}${result.stderr}`)
  }
  return { output, order: completed.order, intent }
}

async function stopWithSigterm(run: Run): Promise<number | null> {
  run.npm.kill("SIGTERM")
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      run.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`npm did not exit after SIGTERM:\n${run.output()}`)),
          STOP_TIMEOUT
        )
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Processes whose command line names the clone: what the demo left running. */
function processesOf(dir: string): string[] {
  const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
  return ps.stdout
    .split("\n")
    .filter((line) => line.includes(dir) && !line.includes("ps -eo"))
    .map((line) => line.trim())
}

async function adminToken(api: string): Promise<string> {
  const res = await fetch(`${api}/admin/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "admin@example.com", password: "supersecret" }),
  })
  const body = (await res.json()) as { access_token: string }
  return body.access_token
}

describe("a newcomer's first hour with npm start", () => {
  let tmp: string
  let dir: string
  let install: { output: string; ms: number }
  let database: TestDatabase
  const taken: net.Server[] = []
  const runs: Run[] = []

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "medusa-stripe-newcomer-"))
    dir = path.join(tmp, "medusa-stripe-payments")
    const clone = spawnSync("git", ["clone", "-q", REPO, dir], { encoding: "utf8" })
    if (clone.status !== 0) throw new Error(`git clone failed: ${clone.stderr}`)
    const started = Date.now()
    const npm = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: dir,
      env: newcomerEnv(),
      encoding: "utf8",
      timeout: INSTALL_TIMEOUT,
    })
    install = { output: `${npm.stdout}${npm.stderr}`, ms: Date.now() - started }
    if (npm.status !== 0) throw new Error(`npm install failed:\n${install.output}`)
    for (const port of [9000, 12111]) {
      const server = await occupy(port)
      if (server) taken.push(server)
    }
    database = await createTestDatabase("medusa_stripe_newcomer")
  }, INSTALL_TIMEOUT + 30_000)

  afterAll(async () => {
    for (const run of runs) {
      if (run.npm.exitCode === null && run.npm.signalCode === null) {
        run.npm.kill("SIGKILL")
      }
    }
    for (const line of processesOf(dir ?? "/nonexistent")) {
      process.kill(Number(line.split(" ")[0]), "SIGKILL")
    }
    await Promise.all(taken.map((server) => new Promise((resolve) => server.close(resolve))))
    await database?.drop()
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  }, 60_000)

  it("installs on Node 18/20 without engine warnings and leaves package-lock.json alone", () => {
    expect(install.output).not.toContain("EBADENGINE")
    const status = spawnSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" })
    expect(status.stdout).toBe("")
  })

  it("refuses a publishable key, a busy port that is set, and a bad database at once, before building, without printing secrets", async () => {
    const quick = async (extra: Record<string, string>) => {
      const started = Date.now()
      const run = npmStart(dir, newcomerEnv({ DATABASE_URL: database.url, ...extra }))
      runs.push(run)
      const code = await run.exited
      return { code, output: run.output(), ms: Date.now() - started }
    }

    const publishable = await quick({ STRIPE_API_KEY: "pk_test_51Newcomer" })
    expect(publishable.code).not.toBe(0)
    expect(publishable.output).toMatch(/✖ .*"api_key" is a publishable key/)
    expect(publishable.output).toMatch(/Fix: Set STRIPE_API_KEY to the secret key/)
    expect(publishable.output).not.toContain("pk_test_51Newcomer")

    const busy = await quick({ PORT: "9000" })
    expect(busy.code).not.toBe(0)
    expect(busy.output).toContain("Port 9000 (PORT, for the Medusa backend) is already in use")
    expect(busy.output).toMatch(/PORT=\d+ npm start/)

    const badDatabase = await quick({
      DATABASE_URL: "postgres://postgres:newcomer-s3cret@127.0.0.2:5432/shop",
    })
    expect(badDatabase.code).not.toBe(0)
    expect(badDatabase.output).toContain("Cannot connect to PostgreSQL at postgres://postgres:***@")
    expect(badDatabase.output).not.toContain("newcomer-s3cret")

    for (const run of [publishable, busy, badDatabase]) {
      expect(run.output).not.toContain("Building the plugin")
      expect(run.ms).toBeLessThan(20_000)
    }
  }, 90_000)

  it(
    "starts on free ports, follows its walk-through, keeps Stripe's side across a restart, copes with a lost emulator state, and stops on SIGTERM",
    async () => {
      const env = newcomerEnv({ DATABASE_URL: database.url, DEMO_ADMIN: "0" })
      const start = async (): Promise<{ run: Run; api: string; emulatorPort: number }> => {
        const run = npmStart(dir, env)
        runs.push(run)
        await waitFor(
          () => {
            if (run.npm.exitCode !== null) {
              throw new Error(`npm start exited (${run.npm.exitCode}):\n${run.output()}`)
            }
            return run.output().includes("Ctrl-C stops everything.")
          },
          { timeoutMs: START_TIMEOUT, intervalMs: 250, description: "the walk-through" }
        )
        const output = run.output()
        const api = /^Store API +(http:\/\/127\.0\.0\.1:\d+)\/store$/m.exec(output)?.[1]
        const stripe = /^Stripe +http:\/\/127\.0\.0\.1:(\d+) \(emulator\)$/m.exec(output)?.[1]
        if (!api || !stripe) throw new Error(`No URLs in:\n${output}`)
        return { run, api, emulatorPort: Number(stripe) }
      }
      const stop = async (run: Run, ports: number[]) => {
        const code = await stopWithSigterm(run)
        expect(code).toBe(0)
        expect(run.output()).toContain("• Stopping (SIGTERM)")
        expect(run.output()).toMatch(/Stopped the Medusa backend \(port \d+\), the Stripe emulator/)
        for (const port of ports) {
          await expect(accepts(port)).resolves.toBe(false)
        }
        expect(processesOf(dir)).toEqual([])
      }

      // First start: ports 9000 and 12111 are taken, so it picks others and says which.
      const first = await start()
      expect(first.run.output()).toMatch(
        /Port 9000 is in use, so the Medusa backend takes (\d+) \(set PORT to choose\)/
      )
      expect(first.run.output()).toMatch(
        /Port 12111 is in use, so the Stripe emulator takes (\d+) \(set STRIPE_EMULATOR_PORT to choose\)/
      )
      expect(first.api).not.toBe("http://127.0.0.1:9000")
      expect(first.emulatorPort).not.toBe(12111)
      expect(first.run.output()).toContain("• Building the plugin: dist/ is missing")

      const one = follow(walkthroughOf(first.run.output()))
      // Every step shows a short answer; none is a bare null.
      expect(one.output).not.toContain("null")
      expect(one.output.join("\n")).not.toMatch(/:null[,}]/)
      expect(one.output.join("\n")).toMatch(/^cart: cart_/m)
      expect(one.output.join("\n")).toContain('{"items":["1 x Medusa T-Shirt"]')
      expect(one.output.join("\n")).toContain(`{"id":"${one.intent}","status":"requires_capture"}`)
      expect(one.output.join("\n")).toContain(
        `{"type":"order","order":"${one.order}","payment_status":"awaiting"}`
      )
      expect(one.output.join("\n")).toContain(
        `[{"payment_intent_id":"${one.intent}","status":"requires_capture"`
      )
      await stop(first.run, [Number(new URL(first.api).port), first.emulatorPort])

      // Second start: no build, the emulator still knows the first run's customer and intent.
      const second = await start()
      expect(second.run.output()).toContain("• The plugin's build is up to date")
      expect(second.run.output()).toContain("1 customer and 1 PaymentIntent from earlier runs")
      const two = follow(walkthroughOf(second.run.output()))
      expect(two.order).not.toBe(one.order)
      expect(two.output.join("\n")).toContain(
        `{"type":"order","order":"${two.order}","payment_status":"awaiting"}`
      )
      // The first run's order still shows its payment: Stripe's side survived the restart.
      const token = await adminToken(second.api)
      const res = await fetch(`${second.api}/admin/stripe/orders/${one.order}/payments`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status).toBe(200)
      const body = (await res.json()) as {
        payments: { payment_intent_id: string; status: string }[]
        stripe_api_host: string | null
      }
      expect(body.payments).toEqual([
        expect.objectContaining({ payment_intent_id: one.intent, status: "requires_capture" }),
      ])
      expect(body.stripe_api_host).toBe(`http://127.0.0.1:${second.emulatorPort}`)
      await stop(second.run, [Number(new URL(second.api).port), second.emulatorPort])

      // Third start without the emulator's state file (deleted, or keys switched): checkouts
      // still work, and the admin names the intents Stripe no longer has.
      fs.rmSync(path.join(dir, ".medusa", "demo", "stripe-emulator.json"))
      const third = await start()
      const three = follow(walkthroughOf(third.run.output()))
      expect(three.output.join("\n")).toContain(
        `{"type":"order","order":"${three.order}","payment_status":"awaiting"}`
      )
      const missing = await fetch(`${third.api}/admin/stripe/orders/${one.order}/payments`, {
        headers: { authorization: `Bearer ${await adminToken(third.api)}` },
      })
      expect(missing.status).toBe(404)
      await expect(missing.json()).resolves.toMatchObject({
        code: "payment_intent_missing",
        payment_intent_id: one.intent,
        message: expect.stringContaining(`PaymentIntent ${one.intent} no longer exists`),
      })
      await stop(third.run, [Number(new URL(third.api).port), third.emulatorPort])
    },
    3 * START_TIMEOUT + 60_000
  )
})
