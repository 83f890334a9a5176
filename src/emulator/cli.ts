#!/usr/bin/env node
import { StripeEmulator, type StripeEmulatorOptions } from "./index"

const USAGE = `Usage: stripe-emulator [options]

A stateful Stripe API emulator on 127.0.0.1 for tests and demos.

Options:
  --port <n>              Port to listen on (default 12111; 0 picks a free one)
  --seed <n>              Seed for random failure injection (default 1)
  --webhook <url>         Deliver events to this URL (may be repeated)
  --webhook-secret <s>    Signing secret for --webhook endpoints (default: generated, printed)
  --latency <ms>          Add latency to every API request
  --log                   Print each API request
  -h, --help              Show this help

Point the Stripe SDK at it:
  new Stripe("sk_test_...", { host: "127.0.0.1", port: <port>, protocol: "http" })
Controls: http://127.0.0.1:<port>/_emulator/...`

interface CliOptions {
  port: number
  seed?: number
  webhooks: string[]
  webhookSecret?: string
  latency?: number
  log: boolean
}

function parseArgs(argv: string[]): CliOptions | "help" {
  const options: CliOptions = { port: 12111, webhooks: [], log: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined]
    const value = (): string => {
      const next = inline ?? argv[++i]
      if (next === undefined) throw new Error(`${flag} needs a value`)
      return next
    }
    const number = (): number => {
      const text = value()
      const parsed = Number(text)
      if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${flag}: not a number: ${text}`)
      return parsed
    }
    switch (flag) {
      case "-h":
      case "--help":
        return "help"
      case "--port":
      case "-p":
        options.port = number()
        break
      case "--seed":
        options.seed = number()
        break
      case "--webhook":
        options.webhooks.push(value())
        break
      case "--webhook-secret":
        options.webhookSecret = value()
        break
      case "--latency":
        options.latency = number()
        break
      case "--log":
        options.log = true
        break
      default:
        throw new Error(`Unknown option: ${arg}`)
    }
  }
  return options
}

async function main(): Promise<void> {
  let options: CliOptions | "help"
  try {
    options = parseArgs(process.argv.slice(2))
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    console.error(USAGE)
    process.exitCode = 2
    return
  }
  if (options === "help") {
    console.log(USAGE)
    return
  }
  const startOptions: StripeEmulatorOptions = {
    port: options.port,
    preloadSchema: true,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  }
  const emulator = await StripeEmulator.start(startOptions)
  if (options.latency) emulator.faults.setLatency(options.latency)
  console.log(`Stripe emulator listening on ${emulator.url}`)
  for (const url of options.webhooks) {
    const { id, secret } = emulator.webhooks.addEndpoint({
      url,
      ...(options.webhookSecret ? { secret: options.webhookSecret } : {}),
    })
    console.log(`Webhook endpoint ${id}: ${url} (secret ${secret})`)
  }
  if (options.log) {
    emulator.onRequest((entry) => {
      const outcome = entry.status ?? `no response (${entry.fault ?? "dropped"})`
      const key = entry.idempotencyKey ? ` key=${entry.idempotencyKey}` : ""
      const replay = entry.replayed ? " replayed" : ""
      console.log(
        `${entry.method} ${entry.path} -> ${outcome} ${entry.durationMs} ms${key}${replay}`
      )
    })
  }
  const shutdown = (): void => {
    void emulator.stop().then(() => process.exit(0))
  }
  process.on("SIGINT", shutdown)
  process.on("SIGTERM", shutdown)
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
})
