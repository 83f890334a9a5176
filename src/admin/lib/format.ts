import { MEDUSA_THREE_DECIMAL, MEDUSA_ZERO_DECIMAL } from "../../core/amounts"
import type { StripePaymentDetails } from "../../core/payment-details"

export type BadgeColor = "green" | "red" | "blue" | "orange" | "grey" | "purple"

/** Decimals of a currency as Medusa v1 stores it (JPY none, KWD three, most two). */
export function currencyDigits(currency: string): number {
  const code = currency.toLowerCase()
  if (MEDUSA_ZERO_DECIMAL.has(code)) {
    return 0
  }
  if (MEDUSA_THREE_DECIMAL.has(code)) {
    return 3
  }
  return 2
}

/** An amount in Medusa's minor unit, formatted in its currency ("€33.00", "¥4,500"). */
export function formatMoney(amount: number, currency: string, locale?: string): string {
  const digits = currencyDigits(currency)
  const value = amount / 10 ** digits
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: currency.toUpperCase(),
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value)
  } catch {
    return `${value.toFixed(digits)} ${currency.toUpperCase()}`
  }
}

/** "requires_capture" -> "Requires capture". */
export function humanize(value: string): string {
  const words = value.replace(/[_-]+/g, " ").trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

const INTENT_STATUS: Record<StripePaymentDetails["status"], { label: string; color: BadgeColor }> =
  {
    requires_payment_method: { label: "Requires payment method", color: "red" },
    requires_confirmation: { label: "Requires confirmation", color: "grey" },
    requires_action: { label: "Requires action", color: "orange" },
    processing: { label: "Processing", color: "orange" },
    requires_capture: { label: "Authorized", color: "blue" },
    canceled: { label: "Canceled", color: "grey" },
    succeeded: { label: "Succeeded", color: "green" },
  }

export function intentStatus(status: string): { label: string; color: BadgeColor } {
  return (
    INTENT_STATUS[status as StripePaymentDetails["status"]] ?? {
      label: humanize(status),
      color: "grey",
    }
  )
}

/** Radar's risk level as a badge: normal, elevated, highest, not assessed. */
export function riskBadge(level: string | null): { label: string; color: BadgeColor } {
  switch (level) {
    case "normal":
      return { label: "Normal", color: "green" }
    case "elevated":
      return { label: "Elevated", color: "orange" }
    case "highest":
      return { label: "Highest", color: "red" }
    case null:
    case "unknown":
      return { label: "Unknown", color: "grey" }
    default:
      return { label: humanize(level), color: "grey" }
  }
}

export function threeDSecure(details: StripePaymentDetails["three_d_secure"]): {
  label: string
  color: BadgeColor
} {
  if (!details) {
    return { label: "Not requested", color: "grey" }
  }
  const version = details.version ? ` (${details.version})` : ""
  switch (details.result) {
    case "authenticated":
      return { label: `Authenticated${version}`, color: "green" }
    case "attempt_acknowledged":
      return { label: `Attempted${version}`, color: "green" }
    case "exempted":
      return { label: `Exempted${version}`, color: "blue" }
    case "failed":
      return { label: `Failed${version}`, color: "red" }
    case null:
      return { label: `Requested${version}`, color: "grey" }
    default:
      return { label: `${humanize(details.result)}${version}`, color: "orange" }
  }
}

const CARD_BRANDS: Record<string, string> = {
  amex: "American Express",
  cartes_bancaires: "Cartes Bancaires",
  diners: "Diners Club",
  discover: "Discover",
  eftpos_au: "eftpos",
  jcb: "JCB",
  mastercard: "Mastercard",
  unionpay: "UnionPay",
  visa: "Visa",
}

const WALLETS: Record<string, string> = {
  amex_express_checkout: "Amex Express Checkout",
  apple_pay: "Apple Pay",
  google_pay: "Google Pay",
  link: "Link",
  masterpass: "Masterpass",
  samsung_pay: "Samsung Pay",
  visa_checkout: "Visa Checkout",
}

const METHODS: Record<string, string> = {
  bancontact: "Bancontact",
  blik: "BLIK",
  card: "Card",
  giropay: "giropay",
  ideal: "iDEAL",
  klarna: "Klarna",
  link: "Link",
  p24: "Przelewy24",
  sepa_debit: "SEPA Direct Debit",
}

/** "Visa •••• 4242", "Mastercard •••• 4444 · Apple Pay", "iDEAL". */
export function paymentMethodLabel(method: StripePaymentDetails["payment_method"]): string {
  if (method.brand || method.last4) {
    const brand = method.brand ? (CARD_BRANDS[method.brand] ?? humanize(method.brand)) : "Card"
    const card = method.last4 ? `${brand} •••• ${method.last4}` : brand
    const wallet = method.wallet ? (WALLETS[method.wallet] ?? humanize(method.wallet)) : null
    return wallet ? `${card} · ${wallet}` : card
  }
  if (method.type) {
    return METHODS[method.type] ?? humanize(method.type)
  }
  return "Not chosen yet"
}

/** Disputes still waiting for the merchant or for the bank. */
export function isOpenDispute(status: string): boolean {
  return [
    "needs_response",
    "under_review",
    "warning_needs_response",
    "warning_under_review",
  ].includes(status)
}

export function disputeColor(status: string): BadgeColor {
  if (status === "won" || status === "warning_closed") {
    return "green"
  }
  if (status === "lost") {
    return "red"
  }
  return isOpenDispute(status) ? "orange" : "grey"
}

export function refundColor(status: string | null): BadgeColor {
  switch (status) {
    case "succeeded":
      return "green"
    case "pending":
    case "requires_action":
      return "orange"
    case "failed":
      return "red"
    default:
      return "grey"
  }
}

export function isTestMode(dashboardUrl: string): boolean {
  return dashboardUrl.includes("/test/")
}

/** The message of an error from the admin API (axios) or of any other error. */
export function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const response = (error as { response?: { status?: unknown; data?: unknown } }).response
    const status = typeof response?.status === "number" ? response.status : null
    const data = response?.data
    if (typeof data === "object" && data !== null) {
      const message = (data as { message?: unknown }).message
      if (typeof message === "string" && message) {
        return status ? `${message} (HTTP ${status})` : message
      }
    }
    if (status) {
      return `The server answered HTTP ${status}`
    }
    const message = (error as { message?: unknown }).message
    if (typeof message === "string" && message) {
      return message
    }
  }
  return "Unknown error"
}
