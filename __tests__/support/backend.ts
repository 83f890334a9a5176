import { ChildProcess, spawn } from "child_process"
import net, { Socket } from "net"

import { BACKEND_SCRIPT, Env, ScratchApp, backendEnv } from "./app"
import { waitFor } from "./wait"

export interface BackendExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ResolvedPlugin {
  name: string
  version: string
  resolve: string
}

export interface Backend {
  url: string
  port: number
  pid: number
  /** The plugins Medusa loaded, with the directory each was loaded from. */
  plugins: ResolvedPlugin[]
  /** Milliseconds from spawn to a healthy `/health`. */
  bootMs: number
  /** Every stdout and stderr line so far. */
  logs(): string[]
  /** Whether the process has exited. */
  exited(): BackendExit | undefined
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<BackendExit>
  /** Sends a signal (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<BackendExit>
  /** Resolves with the exit, whenever it happens. */
  waitForExit(): Promise<BackendExit>
}

export interface StartBackendOptions {
  app: ScratchApp
  env?: Env
  /** Default: a free port on 127.0.0.1. */
  port?: number
  /** Deadline for `/health` (default 60 s). */
  timeoutMs?: number
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) {
    return
  }
  exitHookInstalled = true
  process.once("exit", () => {
    for (const child of running) {
      try {
        child.kill("SIGKILL")
      } catch {
        // already gone
      }
    }
  })
}

/** Stops every backend this process started and has not stopped yet. */
export async function stopAllBackends(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolve()
            return
          }
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
    )
  )
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Spawns `node scripts/lib/medusa-backend.js start` in the app directory, on 127.0.0.1, and
 * resolves once `GET /health` answers. Several backends may share one app and database.
 */
export async function startBackend(options: StartBackendOptions): Promise<Backend> {
  const { app } = options
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const started = Date.now()
  installExitHook()

  const child = spawn(process.execPath, [BACKEND_SCRIPT, "start"], {
    cwd: app.dir,
    env: backendEnv(app.env, options.env, { HOST: "127.0.0.1", PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"],
  })
  if (child.pid === undefined) {
    throw new Error("Could not spawn the Medusa backend")
  }
  const pid = child.pid
  running.add(child)
  // A spec that forgets stop() must not keep the test runner alive: the backend notices its
  // parent is gone (MEDUSA_BACKEND_WATCH_PARENT) and stops itself.
  child.unref()
  for (const stream of [child.stdout, child.stderr]) {
    const socket = stream as Socket
    socket.unref()
  }

  const lines: string[] = []
  const collect = (stream: NodeJS.ReadableStream) => {
    let pending = ""
    stream.setEncoding("utf8")
    stream.on("data", (chunk: string) => {
      pending += chunk
      const parts = pending.split("\n")
      pending = parts.pop() ?? ""
      lines.push(...parts)
    })
    stream.on("end", () => {
      if (pending) {
        lines.push(pending)
        pending = ""
      }
    })
  }
  collect(child.stdout)
  collect(child.stderr)

  let exit: BackendExit | undefined
  const exitPromise = new Promise<BackendExit>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal }
      running.delete(child)
      resolve(exit)
    })
  })

  const kill = async (signal: NodeJS.Signals = "SIGKILL"): Promise<BackendExit> => {
    if (exit) {
      return exit
    }
    child.kill(signal)
    // The child is unref'd: a timer keeps this process alive until its exit is seen.
    const keepAlive = setInterval(() => undefined, 1000)
    try {
      return await exitPromise
    } finally {
      clearInterval(keepAlive)
    }
  }

  const stop = async (graceMs = 10_000): Promise<BackendExit> => {
    if (exit) {
      return exit
    }
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    try {
      return await exitPromise
    } finally {
      clearTimeout(timer)
    }
  }

  const abort = new AbortController()
  const healthy = waitFor(
    async () => {
      const res = await fetch(`${url}/health`)
      return res.ok
    },
    {
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: 100,
      description: `${url}/health`,
      signal: abort.signal,
    }
  )
  const exitedEarly = exitPromise.then((e) => {
    throw new Error(`the backend exited before it was healthy (code ${e.code}, signal ${e.signal})`)
  })
  try {
    await Promise.race([healthy, exitedEarly])
  } catch (err) {
    await kill("SIGKILL")
    const reason = err instanceof Error ? err.message : String(err)
    throw new Error(
      `Medusa backend did not become healthy: ${reason}\n${lines.slice(-80).join("\n")}`
    )
  } finally {
    abort.abort()
    exitedEarly.catch(() => undefined)
    healthy.catch(() => undefined)
  }

  const plugins: ResolvedPlugin[] = []
  for (const line of lines) {
    const match = /\[medusa-backend\] plugin (\S+)@(\S+) from (.+)$/.exec(line)
    if (match) {
      plugins.push({ name: match[1], version: match[2], resolve: match[3] })
    }
  }

  return {
    url,
    port,
    pid,
    plugins,
    bootMs: Date.now() - started,
    logs: () => [...lines],
    exited: () => exit,
    stop,
    kill,
    waitForExit: () => exitPromise,
  }
}
