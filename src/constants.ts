/** The Stripe API version this plugin is written and tested against. */
export const STRIPE_API_VERSION = "2024-04-10"

/** The API versions the `api_version` option accepts: those the suite runs against. */
export const SUPPORTED_API_VERSIONS: readonly string[] = [STRIPE_API_VERSION]

export const PLUGIN_NAME = "medusa-stripe-payments"

/** Provider identifiers, compatible with the official Medusa Stripe plugin. */
export const PROVIDER_IDS = {
  stripe: "stripe",
  ideal: "stripe-ideal",
  bancontact: "stripe-bancontact",
  blik: "stripe-blik",
  przelewy24: "stripe-przelewy24",
  giropay: "stripe-giropay",
  sepaDebit: "stripe-sepa-debit",
  klarna: "stripe-klarna",
} as const

/** Metadata keys the plugin writes on Stripe objects. */
export const METADATA_KEYS = {
  resourceId: "resource_id",
  cartId: "cart_id",
  medusaCustomerId: "medusa_customer_id",
  /** Marks refunds the plugin made itself, so the webhook does not record them twice. */
  refundOrigin: "medusa_refund_origin",
} as const

export const REFUND_ORIGIN_PLUGIN = "medusa"

/** Key under which the Stripe customer id is kept in `customer.metadata` (as the official plugin does). */
export const CUSTOMER_STRIPE_ID_KEY = "stripe_id"
