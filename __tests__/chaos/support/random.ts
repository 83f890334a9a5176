/** A small seeded PRNG (mulberry32), so that a failing case can be generated again. */
export interface Rng {
  (): number
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  hex(length: number): string
  alnum(length: number): string
}

export function seededRng(seed: number): Rng {
  let state = seed >>> 0
  const next = (() => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }) as Rng
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1))
  next.pick = (items) => items[Math.floor(next() * items.length)]
  const draw = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join("")
  next.hex = (length) => draw("0123456789abcdef", length)
  next.alnum = (length) =>
    draw("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", length)
  return next
}
