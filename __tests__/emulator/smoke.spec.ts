import { startEmulator, stripeFor } from "./helpers"

it("smoke", async () => {
  const emu = await startEmulator()
  const stripe = stripeFor(emu)
  const pi = await stripe.paymentIntents.create({
    amount: 1000,
    currency: "eur",
    capture_method: "manual",
    payment_method_types: ["card"],
  })
  const c = await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" })
  const cap = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 600 })
  const got = await stripe.paymentIntents.retrieve(pi.id, {
    expand: ["latest_charge", "payment_method"],
  })
  console.log(c.status, cap.status, cap.amount_received, JSON.stringify(got).slice(0, 300))
  console.log(
    emu.counters(),
    emu.events().map((e) => e.type)
  )
  await emu.stop()
})
