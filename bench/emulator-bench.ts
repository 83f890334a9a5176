/**
 * Throughput of the Stripe emulator through the real SDK: create + confirm + capture flows,
 * one after another and then concurrently. Prints requests per second.
 *
 *   FLOWS=2000 CONCURRENCY=32 node <runner> bench/emulator-bench.ts
 */
import http from "http"
import Stripe from "stripe"
import { StripeEmulator } from "../src/emulator"

const FLOWS = Number(process.env.FLOWS ?? process.argv[2] ?? 2000)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? process.argv[3] ?? 32)
const REQUESTS_PER_FLOW = 3

async function flow(stripe: Stripe, n: number): Promise<void> {
  const intent = await stripe.paymentIntents.create({
    amount: 1000 + (n % 500),
    currency: "eur",
    capture_method: "manual",
    payment_method_types: ["card"],
    metadata: { cart_id: `cart_${n}` },
  })
  await stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_visa" })
  const captured = await stripe.paymentIntents.capture(intent.id)
  if (captured.status !== "succeeded") throw new Error(`Flow ${n} ended in ${captured.status}`)
}

interface Result {
  label: string
  flows: number
  seconds: number
}

function report({ label, flows, seconds }: Result): void {
  const requests = flows * REQUESTS_PER_FLOW
  console.log(
    `${label.padEnd(24)} ${String(flows).padStart(6)} flows  ${seconds.toFixed(2).padStart(6)} s  ` +
      `${Math.round(flows / seconds)
        .toString()
        .padStart(6)} flows/s  ` +
      `${Math.round(requests / seconds)
        .toString()
        .padStart(6)} requests/s`
  )
}

async function sequential(stripe: Stripe, flows: number): Promise<Result> {
  const started = process.hrtime.bigint()
  for (let n = 0; n < flows; n++) await flow(stripe, n)
  return { label: "sequential", flows, seconds: Number(process.hrtime.bigint() - started) / 1e9 }
}

async function concurrent(stripe: Stripe, flows: number, concurrency: number): Promise<Result> {
  const started = process.hrtime.bigint()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < flows) {
      const n = next++
      await flow(stripe, n)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return {
    label: `concurrent (x${concurrency})`,
    flows,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  }
}

/** The same flows over plain keep-alive HTTP: what the emulator alone can serve. */
async function rawHttp(
  emulator: StripeEmulator,
  flows: number,
  concurrency: number
): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const post = (path: string, body: string): Promise<{ id: string; status: string }> =>
    new Promise((resolve, reject) => {
      const request = http.request(
        `${emulator.url}${path}`,
        {
          method: "POST",
          agent,
          headers: {
            Authorization: "Bearer sk_test_bench",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on("end", () => {
            const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              id: string
              status: string
            }
            if (response.statusCode !== 200) reject(new Error(JSON.stringify(parsed)))
            else resolve(parsed)
          })
        }
      )
      request.on("error", reject)
      request.end(body)
    })
  const started = process.hrtime.bigint()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < flows) {
      const n = next++
      const intent = await post(
        "/v1/payment_intents",
        `amount=${1000 + (n % 500)}&currency=eur&capture_method=manual&payment_method_types[0]=card&metadata[cart_id]=cart_${n}`
      )
      await post(`/v1/payment_intents/${intent.id}/confirm`, "payment_method=pm_card_visa")
      const captured = await post(`/v1/payment_intents/${intent.id}/capture`, "")
      if (captured.status !== "succeeded") throw new Error(`Flow ${n} ended in ${captured.status}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  agent.destroy()
  return {
    label: `raw HTTP (x${concurrency})`,
    flows,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  }
}

async function main(): Promise<void> {
  const emulator = await StripeEmulator.start({ port: 0, preloadSchema: true })
  const stripe = new Stripe("sk_test_bench", {
    apiVersion: "2024-04-10",
    ...emulator.stripeConfig(),
    maxNetworkRetries: 0,
    telemetry: false,
  })
  try {
    await flow(stripe, -1)
    emulator.reset()
    console.log(`Stripe emulator at ${emulator.url}, Node ${process.version}`)
    report(await sequential(stripe, FLOWS))
    emulator.reset()
    report(await concurrent(stripe, FLOWS, CONCURRENCY))
    emulator.reset()
    report(await rawHttp(emulator, FLOWS, CONCURRENCY))
    const counters = emulator.counters()
    const total = Object.values(counters).reduce((sum, count) => sum + count, 0)
    console.log(`requests counted by the emulator (last run): ${total}`)
  } finally {
    await emulator.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
