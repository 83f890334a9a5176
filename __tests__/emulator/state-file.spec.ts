import fs from "fs"
import os from "os"
import path from "path"
import { EmulatorStateError, type StripeEmulator } from "../../src/emulator"
import { eventually, startEmulator, stripeError, stripeFor } from "./helpers"

describe("state file", () => {
  let dir: string
  let file: string
  const running: StripeEmulator[] = []

  const start = async (): Promise<StripeEmulator> => {
    const emulator = await startEmulator({ stateFile: file })
    running.push(emulator)
    return emulator
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-state-"))
    file = path.join(dir, "nested", "stripe.json")
  })

  afterEach(async () => {
    await Promise.all(running.splice(0).map((emulator) => emulator.stop()))
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("keeps customers, PaymentIntents and events across a restart", async () => {
    const first = await start()
    const stripe = stripeFor(first)
    const customer = await stripe.customers.create({ email: "ada@example.com" })
    const intent = await stripe.paymentIntents.create({
      amount: 2500,
      currency: "eur",
      customer: customer.id,
      capture_method: "manual",
    })
    await first.confirmPaymentIntent(intent.id, { payment_method: "pm_card_visa" })
    await first.stop()

    const second = await start()
    const again = stripeFor(second)
    await expect(again.customers.retrieve(customer.id)).resolves.toMatchObject({
      email: "ada@example.com",
    })
    const kept = await again.paymentIntents.retrieve(intent.id)
    expect(kept).toMatchObject({ status: "requires_capture", customer: customer.id })
    await expect(again.paymentIntents.capture(intent.id)).resolves.toMatchObject({
      status: "succeeded",
      amount_received: 2500,
    })
    const types = second.events().map((event) => event.type)
    expect(types).toEqual(
      expect.arrayContaining(["customer.created", "payment_intent.amount_capturable_updated"])
    )
  })

  it("writes shortly after a change, without waiting for stop", async () => {
    const emulator = await start()
    const customer = await stripeFor(emulator).customers.create({ email: "early@example.com" })
    const written = await eventually(() =>
      fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
    )
    expect(written).toContain(customer.id)
  })

  it("replays an idempotent request made before the restart", async () => {
    const first = await start()
    const created = await stripeFor(first).customers.create(
      { email: "once@example.com" },
      { idempotencyKey: "create-once" }
    )
    await first.stop()

    const second = await start()
    const replayed = await stripeFor(second).customers.create(
      { email: "once@example.com" },
      { idempotencyKey: "create-once" }
    )
    expect(replayed.id).toBe(created.id)
    expect(second.customers()).toHaveLength(1)
  })

  it("does not keep webhook endpoints, which carry their signing secrets", async () => {
    const first = await start()
    first.webhooks.addEndpoint({ url: "http://127.0.0.1:9/hooks" })
    await stripeFor(first).customers.create({ email: "hooks@example.com" })
    await first.stop()

    expect(fs.readFileSync(file, "utf8")).not.toContain("whsec_")
    const second = await start()
    expect(second.webhooks.endpoints()).toEqual([])
    expect(second.customers()).toHaveLength(1)
  })

  it("empties the file when the account is reset", async () => {
    const first = await start()
    const stripe = stripeFor(first)
    const customer = await stripe.customers.create({ email: "gone@example.com" })
    first.reset()
    await first.stop()

    const second = await start()
    const error = await stripeError(() => stripeFor(second).customers.retrieve(customer.id))
    expect(error.code).toBe("resource_missing")
  })

  it("refuses a file that is not a snapshot, naming it", async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, "{ not json")
    await expect(startEmulator({ stateFile: file })).rejects.toThrow(EmulatorStateError)
    await expect(startEmulator({ stateFile: file })).rejects.toThrow(file)
  })
})
