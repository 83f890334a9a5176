import { createHash } from "crypto"
import { PLUGIN_NAME } from "../constants"

/**
 * The two int4 keys of the Postgres advisory lock named `name` (e.g. `cart:cart_01...`):
 * the first eight bytes of SHA-256 over the plugin's namespace and the name. The same name
 * gives the same keys in every process, so every backend instance on the database shares it.
 */
export function advisoryLockKeys(name: string): [number, number] {
  const hash = createHash("sha256").update(`${PLUGIN_NAME}:${name}`).digest()
  return [hash.readInt32BE(0), hash.readInt32BE(4)]
}

/** How long a request or an event waits for a lock before giving up. */
export const LOCK_WAIT_MS = 60_000

/** Polling schedule while a lock is held elsewhere: 20 ms doubling to 250 ms, with jitter. */
export function lockPollDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(250, 20 * 2 ** Math.max(0, attempt))
  return Math.round(base * (0.75 + random() * 0.5))
}
