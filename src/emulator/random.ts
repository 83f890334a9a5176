import { randomBytes } from "crypto"

/** A source of numbers in [0, 1). */
export type Random = () => number

/** mulberry32: small, fast and fully determined by its seed. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

let pool = Buffer.alloc(0)
let poolOffset = 0

/** `length` random characters from [0-9A-Za-z]. */
export function randomToken(length: number): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(Math.max(4096, length))
    poolOffset = 0
  }
  let out = ""
  for (let i = 0; i < length; i++) {
    out += ALPHABET[pool[poolOffset + i] % 62]
  }
  poolOffset += length
  return out
}

/** Produces ids such as `pi_3P1sx...`. */
export type IdGenerator = (prefix: string) => string

/** Id length after the prefix, as Stripe shapes them. */
const ID_LENGTHS: Readonly<Record<string, number>> = {
  cus: 14,
  we: 24,
  evt: 24,
}

export const randomIds: IdGenerator = (prefix) =>
  `${prefix}_${randomToken(ID_LENGTHS[prefix] ?? 24)}`

/** Ids made from a seeded source: the same seed yields the same sequence. */
export function seededIds(seed: number): IdGenerator {
  const random = seededRandom(seed)
  return (prefix) => {
    const length = ID_LENGTHS[prefix] ?? 24
    let out = ""
    for (let i = 0; i < length; i++) {
      out += ALPHABET[Math.floor(random() * 62)]
    }
    return `${prefix}_${out}`
  }
}

/** A stable number in [0, modulo) derived from a string. */
export function hashToInt(text: string, modulo: number): number {
  let hash = 2166136261
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 16777619)
  }
  return (hash >>> 0) % modulo
}
