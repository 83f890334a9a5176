import { Gate, leaveCompletionStart, withGatePass } from "../../src/core/completion-gate"

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe("Gate", () => {
  it("lets `width` in at once and the rest first come, first served", async () => {
    const gate = new Gate(2, 10_000)
    const order: number[] = []
    const passes = [0, 1, 2, 3].map((i) =>
      gate.enter().then((pass) => {
        order.push(i)
        return pass
      })
    )
    await tick()
    expect(order).toEqual([0, 1])
    expect(gate.waiting).toBe(2)
    ;(await passes[1]).leave()
    await tick()
    expect(order).toEqual([0, 1, 2])
    ;(await passes[0]).leave()
    await tick()
    expect(order).toEqual([0, 1, 2, 3])
    expect(gate.occupied).toBe(2)
    ;(await passes[2]).leave()
    ;(await passes[3]).leave()
    expect(gate.occupied).toBe(0)
  })

  it("counts a pass left twice once", async () => {
    const gate = new Gate(1, 10_000)
    const first = await gate.enter()
    const second = gate.enter()
    const third = gate.enter()
    first.leave()
    first.leave()
    await tick()
    expect(gate.occupied).toBe(1)
    expect(gate.waiting).toBe(1)
    ;(await second).leave()
    ;(await third).leave()
    expect(gate.occupied).toBe(0)
  })

  it("lets a waiter go ahead without a place once the wait runs out", async () => {
    jest.useFakeTimers()
    try {
      const gate = new Gate(1, 5_000)
      const held = await gate.enter()
      let through = false
      const late = gate.enter().then((pass) => {
        through = true
        return pass
      })
      await jest.advanceTimersByTimeAsync(4_999)
      expect(through).toBe(false)
      await jest.advanceTimersByTimeAsync(1)
      expect(through).toBe(true)
      expect(gate.waiting).toBe(0)
      // It never held a place: leaving it frees nothing, the holder still counts.
      ;(await late).leave()
      expect(gate.occupied).toBe(1)
      held.leave()
      expect(gate.occupied).toBe(0)
    } finally {
      jest.useRealTimers()
    }
  })

  it("is left by the completion's first Stripe request, in its async context only", async () => {
    const gate = new Gate(1, 10_000)
    const pass = await gate.enter()
    leaveCompletionStart()
    expect(gate.occupied).toBe(1)
    await withGatePass(pass, async () => {
      await tick()
      leaveCompletionStart()
    })
    expect(gate.occupied).toBe(0)
  })
})
