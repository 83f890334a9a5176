import { STRIPE_API_VERSION, SUPPORTED_API_VERSIONS } from "./constants"

export type SetupFutureUsage = "on_session" | "off_session"

/** Options accepted in `medusa-config.js` under this plugin's entry. */
export interface StripePluginOptions {
  /**
   * Secret (`sk_...`) or restricted (`rk_...`) key. Falls back to `STRIPE_API_KEY`.
   * Publishable keys are refused: they belong in the storefront.
   */
  api_key?: string
  /** Signing secret of the webhook endpoint (`whsec_...`). Falls back to `STRIPE_WEBHOOK_SECRET`. */
  webhook_secret?: string
  /**
   * Capture the payment as soon as it is authorized.
   * @default false (authorize at checkout, capture from the admin)
   */
  capture?: boolean
  /**
   * Let Stripe choose the payment methods enabled in the dashboard (provider `stripe` only).
   * @default false
   */
  automatic_payment_methods?: boolean
  /** Description shown on the PaymentIntent in the Stripe dashboard. */
  payment_description?: string
  /** Suffix appended to the account's statement descriptor (at most 22 characters). */
  statement_descriptor_suffix?: string
  /**
   * Payment method types for provider `stripe` when automatic payment methods are off.
   * @default ["card"]
   */
  payment_method_types?: string[]
  /** Save the payment method on the Stripe customer for later checkouts. */
  setup_future_usage?: SetupFutureUsage
  /** Static metadata merged into every PaymentIntent (the plugin adds `resource_id` and `cart_id`). */
  metadata?: Record<string, string>
  /**
   * The Stripe API version of every request. Only versions the plugin is tested with are
   * accepted; the Stripe webhook endpoint should be created with the same version.
   * @default "2024-04-10"
   */
  api_version?: string
  /**
   * Retries of network errors, 409, 429 and 5xx answers, always with the same idempotency key.
   * @default 2
   */
  max_network_retries?: number
  /**
   * Request timeout in milliseconds.
   * @default 20000
   */
  timeout?: number
  /** Webhook signature tolerance in seconds. @default 300 */
  webhook_tolerance?: number
  /**
   * Seconds between two looks for webhook events whose processing failed every attempt or
   * was lost (a crash, an event bus that keeps nothing); such events are fetched from Stripe
   * and processed again, later and later, for about a day. 0 turns this off.
   * @default 60
   */
  webhook_retry_interval?: number
  /**
   * Connections of the plugin's own PostgreSQL pool for the cart and webhook locks, per backend
   * process: one per cart being completed or changed at that moment. Each instance opens up to
   * `lock_pool_size + query_pool_size` connections besides Medusa's own pool (10 by default),
   * so `instances x (10 + lock_pool_size + query_pool_size)` must stay below PostgreSQL's
   * `max_connections` (100 by default).
   * @default 10
   */
  lock_pool_size?: number
  /**
   * Connections of the plugin's pool for short statements (webhook intake, payment look-ups).
   * @default 4
   */
  query_pool_size?: number
  /** Point the client at another API host, e.g. a local Stripe emulator. */
  host?: string
  port?: number
  protocol?: "http" | "https"
}

export interface ResolvedStripeOptions {
  readonly apiKey: string
  readonly webhookSecret?: string
  readonly capture: boolean
  readonly automaticPaymentMethods: boolean
  readonly paymentDescription?: string
  readonly statementDescriptorSuffix?: string
  readonly paymentMethodTypes: readonly string[]
  readonly setupFutureUsage?: SetupFutureUsage
  readonly metadata: Readonly<Record<string, string>>
  readonly apiVersion: string
  readonly maxNetworkRetries: number
  readonly timeout: number
  readonly webhookTolerance: number
  /** Milliseconds; 0 when off. */
  readonly webhookRetryIntervalMs: number
  readonly lockPoolSize: number
  readonly queryPoolSize: number
  readonly host?: string
  readonly port?: number
  readonly protocol?: "http" | "https"
}

export class StripeOptionsError extends Error {
  constructor(
    readonly option: string,
    message: string
  ) {
    super(`medusa-stripe-payments: option "${option}" ${message}`)
    this.name = "StripeOptionsError"
  }
}

const KNOWN_OPTIONS = new Set<string>([
  "api_key",
  "webhook_secret",
  "capture",
  "automatic_payment_methods",
  "payment_description",
  "statement_descriptor_suffix",
  "payment_method_types",
  "setup_future_usage",
  "metadata",
  "api_version",
  "max_network_retries",
  "timeout",
  "webhook_tolerance",
  "webhook_retry_interval",
  "lock_pool_size",
  "query_pool_size",
  "host",
  "port",
  "protocol",
  // Read by Medusa itself, not by the plugin.
  "enableUI",
])

type Env = Readonly<Record<string, string | undefined>>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key]
  if (value === undefined || value === null || value === "") {
    return undefined
  }
  if (typeof value !== "string") {
    throw new StripeOptionsError(key, `must be a string, got ${typeof value}`)
  }
  return value
}

function optionalBoolean(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = raw[key]
  if (value === undefined || value === null) {
    return fallback
  }
  if (typeof value === "boolean") {
    return value
  }
  // Environment variables arrive as strings; accept their usual spellings.
  if (value === "true" || value === "false") {
    return value === "true"
  }
  throw new StripeOptionsError(key, `must be true or false, got ${JSON.stringify(value)}`)
}

function optionalInteger(
  raw: Record<string, unknown>,
  key: string,
  fallback: number | undefined,
  min: number,
  max: number
): number | undefined {
  const value = raw[key]
  if (value === undefined || value === null || value === "") {
    return fallback
  }
  const parsed = typeof value === "string" ? Number(value) : value
  if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new StripeOptionsError(
      key,
      `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`
    )
  }
  return parsed
}

/** Describes a key without revealing it. */
function describeKeyKind(key: string): string {
  const prefix = key.split("_").slice(0, 2).join("_")
  return /^(sk|rk|pk)_(test|live)$/.test(prefix) ? `${prefix}_...` : "an unrecognised value"
}

function parseApiKey(raw: Record<string, unknown>, env: Env): string {
  const value = raw.api_key ?? env.STRIPE_API_KEY
  if (value === undefined || value === null || value === "") {
    throw new StripeOptionsError(
      "api_key",
      "is required: set it in medusa-config.js or the STRIPE_API_KEY environment variable"
    )
  }
  if (typeof value !== "string") {
    throw new StripeOptionsError("api_key", `must be a string, got ${typeof value}`)
  }
  if (value.startsWith("pk_")) {
    throw new StripeOptionsError(
      "api_key",
      "is a publishable key (pk_...). The backend needs a secret key (sk_...) or a restricted key (rk_...); publishable keys belong in the storefront"
    )
  }
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(value)) {
    throw new StripeOptionsError(
      "api_key",
      `must be a Stripe secret key (sk_test_... / sk_live_...) or restricted key (rk_...), got ${describeKeyKind(value)}`
    )
  }
  return value
}

function parseWebhookSecret(raw: Record<string, unknown>, env: Env): string | undefined {
  const value = raw.webhook_secret ?? env.STRIPE_WEBHOOK_SECRET
  if (value === undefined || value === null || value === "") {
    return undefined
  }
  if (typeof value !== "string" || !value.startsWith("whsec_")) {
    throw new StripeOptionsError(
      "webhook_secret",
      "must be the endpoint's signing secret, which starts with whsec_"
    )
  }
  return value
}

function parsePaymentMethodTypes(raw: Record<string, unknown>): readonly string[] {
  const value = raw.payment_method_types
  if (value === undefined || value === null) {
    return ["card"]
  }
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((type) => typeof type === "string" && /^[a-z0-9_]+$/.test(type))
  ) {
    throw new StripeOptionsError(
      "payment_method_types",
      'must be a non-empty array of Stripe payment method types, e.g. ["card"]'
    )
  }
  return Object.freeze([...value])
}

function parseMetadata(raw: Record<string, unknown>): Readonly<Record<string, string>> {
  const value = raw.metadata
  if (value === undefined || value === null) {
    return Object.freeze({})
  }
  if (!isRecord(value)) {
    throw new StripeOptionsError("metadata", "must be an object of string values")
  }
  const entries = Object.entries(value)
  // Stripe allows 50 keys; two are the plugin's own.
  if (entries.length > 48) {
    throw new StripeOptionsError("metadata", "may hold at most 48 keys")
  }
  for (const [key, entry] of entries) {
    if (typeof entry !== "string" || key.length > 40 || entry.length > 500) {
      throw new StripeOptionsError(
        "metadata",
        `entry "${key}" must be a string of at most 500 characters under a key of at most 40`
      )
    }
  }
  return Object.freeze({ ...(value as Record<string, string>) })
}

function parseSetupFutureUsage(raw: Record<string, unknown>): SetupFutureUsage | undefined {
  const value = optionalString(raw, "setup_future_usage")
  if (value === undefined || value === "on_session" || value === "off_session") {
    return value
  }
  throw new StripeOptionsError(
    "setup_future_usage",
    `must be "on_session" or "off_session", got ${JSON.stringify(value)}`
  )
}

function parseProtocol(raw: Record<string, unknown>): "http" | "https" | undefined {
  const value = optionalString(raw, "protocol")
  if (value === undefined || value === "http" || value === "https") {
    return value
  }
  throw new StripeOptionsError(
    "protocol",
    `must be "http" or "https", got ${JSON.stringify(value)}`
  )
}

/**
 * Validates the plugin options once, fills in defaults and returns a frozen object.
 * Throws a {@link StripeOptionsError} naming the first bad option; secrets never appear in it.
 */
export function parseOptions(
  input: unknown,
  env: Env = process.env
): Readonly<ResolvedStripeOptions> {
  const raw = input ?? {}
  if (!isRecord(raw)) {
    throw new StripeOptionsError("options", "must be an object")
  }
  const unknown = Object.keys(raw).filter((key) => !KNOWN_OPTIONS.has(key))
  if (unknown.length > 0) {
    throw new StripeOptionsError(unknown[0], "is not a known option of this plugin")
  }

  const suffix = optionalString(raw, "statement_descriptor_suffix")
  if (suffix !== undefined && (suffix.length > 22 || /[<>\\'"*]/.test(suffix))) {
    throw new StripeOptionsError(
      "statement_descriptor_suffix",
      "must be at most 22 characters without < > \\ ' \" or *"
    )
  }
  const apiVersion = optionalString(raw, "api_version") ?? STRIPE_API_VERSION
  if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
    throw new StripeOptionsError(
      "api_version",
      `must be a Stripe API version this plugin is tested with (${SUPPORTED_API_VERSIONS.join(", ")}), got ${JSON.stringify(apiVersion)}; later versions change what the plugin sends (2026-09-30.endive removed payment_method_types, which the local-method processors use)`
    )
  }

  return Object.freeze({
    apiKey: parseApiKey(raw, env),
    webhookSecret: parseWebhookSecret(raw, env),
    capture: optionalBoolean(raw, "capture", false),
    automaticPaymentMethods: optionalBoolean(raw, "automatic_payment_methods", false),
    paymentDescription: optionalString(raw, "payment_description"),
    statementDescriptorSuffix: suffix,
    paymentMethodTypes: parsePaymentMethodTypes(raw),
    setupFutureUsage: parseSetupFutureUsage(raw),
    metadata: parseMetadata(raw),
    apiVersion,
    maxNetworkRetries: optionalInteger(raw, "max_network_retries", 2, 0, 10) ?? 2,
    timeout: optionalInteger(raw, "timeout", 20_000, 1, 600_000) ?? 20_000,
    webhookTolerance: optionalInteger(raw, "webhook_tolerance", 300, 1, 86_400) ?? 300,
    webhookRetryIntervalMs:
      (optionalInteger(raw, "webhook_retry_interval", 60, 0, 86_400) ?? 60) * 1000,
    lockPoolSize: optionalInteger(raw, "lock_pool_size", 10, 1, 200) ?? 10,
    queryPoolSize: optionalInteger(raw, "query_pool_size", 4, 1, 200) ?? 4,
    host: optionalString(raw, "host"),
    port: optionalInteger(raw, "port", undefined, 1, 65_535),
    protocol: parseProtocol(raw),
  })
}
