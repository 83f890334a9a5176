export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number
  /** Pause between two checks (default 100 ms). */
  intervalMs?: number
  /** Names what is awaited in the timeout message. */
  description?: string
  /** Stops waiting (rejecting) once aborted. */
  signal?: AbortSignal
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastValue: unknown,
    readonly lastError: unknown
  ) {
    super(message)
    this.name = "WaitTimeoutError"
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function describeValue(value: unknown): string {
  if (value === undefined) {
    return "undefined"
  }
  try {
    const text = JSON.stringify(value)
    return text.length > 2000 ? `${text.slice(0, 2000)}...` : text
  } catch {
    return String(value)
  }
}

/**
 * Calls `check` until it returns a truthy value, and resolves with that value. A check that
 * throws counts as not yet. On timeout it rejects with the last value seen and the last error.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitOptions = {}
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 100
  const deadline = Date.now() + timeoutMs
  let lastValue: unknown = undefined
  let lastError: unknown = undefined
  let attempts = 0
  for (;;) {
    if (options.signal?.aborted) {
      throw new Error(`Stopped waiting${options.description ? ` for ${options.description}` : ""}`)
    }
    attempts += 1
    try {
      const value = await check()
      lastValue = value
      lastError = undefined
      if (value) {
        return value as NonNullable<T>
      }
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      break
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
  const what = options.description ? ` for ${options.description}` : ""
  const errorText =
    lastError instanceof Error
      ? `; last error: ${lastError.message}`
      : lastError
        ? `; last error: ${String(lastError)}`
        : ""
  throw new WaitTimeoutError(
    `Timed out after ${timeoutMs} ms${what} (${attempts} checks); last value: ${describeValue(lastValue)}${errorText}`,
    lastValue,
    lastError
  )
}
