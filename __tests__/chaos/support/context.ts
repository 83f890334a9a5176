import type { StripeEmulator } from "../../../src/emulator"
import type { Backend, E2E, Env } from "../../support"
import type { Capture, RecordingClient } from "./capture"
import type { ChaosScale } from "./scale"

/** Something that must never happen, found by a scenario. */
export interface Anomaly {
  scenario: string
  kind: string
  detail: string
}

export interface ChaosContext {
  e2e: E2E
  emu: StripeEmulator
  scale: ChaosScale
  capture: Capture
  /** Store API of the current backend (responses scanned). */
  store: RecordingClient
  /** Admin API of the current backend, logged in (responses scanned). */
  admin: RecordingClient
  /** Environment of the chaos backend (Stripe timeout and retries). */
  backendEnv: Env
  /** The port every backend of the run listens on, so the webhook endpoint stays valid. */
  port: number
  backend(): Backend
  /** Starts a backend on the same port, app and database (after a crash). */
  restartBackend(): Promise<Backend>
  /** Progress lines, shown with CHAOS_VERBOSE=1. */
  progress(line: string): void
}

export function anomaly(scenario: string, kind: string, detail: string): Anomaly {
  return { scenario, kind, detail }
}

export function messageOf(body: unknown): string {
  if (typeof body === "string") {
    return body
  }
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>
    if (typeof record.message === "string") {
      return record.message
    }
    if (Array.isArray(record.errors)) {
      return record.errors
        .map((entry) =>
          entry && typeof entry === "object"
            ? String((entry as Record<string, unknown>).message)
            : ""
        )
        .join("; ")
    }
  }
  return ""
}

/**
 * Whether an error answer tells the shopper what went wrong: an HTTP error status and a
 * message that names the problem (not Medusa's catch-all "An unknown error occurred").
 */
export function isClearError(status: number, body: unknown): boolean {
  const message = messageOf(body).trim()
  return (
    status >= 400 &&
    status <= 599 &&
    message.length >= 10 &&
    !/^an unknown error occurred\.?$/i.test(message)
  )
}
