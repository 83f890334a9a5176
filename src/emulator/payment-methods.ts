import type Stripe from "stripe"

/** How a payment method behaves when a PaymentIntent is confirmed with it. */
export type Behaviour =
  | { kind: "succeed"; risk?: "normal" | "elevated"; dispute?: boolean }
  | { kind: "decline"; code: string; declineCode: string; message: string; blocked?: boolean }
  /** Card that needs 3D Secure: requires_action on-session, authentication_required off-session. */
  | { kind: "authenticate" }
  /** Bank redirect (iDEAL, Bancontact, P24, Klarna, giropay). */
  | { kind: "redirect" }
  /** BLIK: the shopper approves in the bank app. */
  | { kind: "blik" }
  /** Bank debit (SEPA): processing until settled; `settles` is the default outcome. */
  | { kind: "processing"; settles?: boolean }

export type PaymentFlow = "card" | "redirect" | "blik" | "processing"

export interface PaymentMethodTypeInfo {
  flow: PaymentFlow
  /** Lowercase currencies the type can charge, or "any". */
  currencies: readonly string[] | "any"
  manualCapture: boolean
}

/** The payment method types the emulator knows, with what Stripe allows for each. */
export const PAYMENT_METHOD_TYPES: Readonly<Record<string, PaymentMethodTypeInfo>> = {
  card: { flow: "card", currencies: "any", manualCapture: true },
  ideal: { flow: "redirect", currencies: ["eur"], manualCapture: false },
  bancontact: { flow: "redirect", currencies: ["eur"], manualCapture: false },
  giropay: { flow: "redirect", currencies: ["eur"], manualCapture: false },
  p24: { flow: "redirect", currencies: ["eur", "pln"], manualCapture: false },
  klarna: {
    flow: "redirect",
    currencies: [
      "eur",
      "usd",
      "gbp",
      "dkk",
      "nok",
      "sek",
      "chf",
      "czk",
      "pln",
      "aud",
      "nzd",
      "cad",
    ],
    manualCapture: true,
  },
  blik: { flow: "blik", currencies: ["pln"], manualCapture: false },
  sepa_debit: { flow: "processing", currencies: ["eur"], manualCapture: false },
}

export function isKnownType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(PAYMENT_METHOD_TYPES, type)
}

export function supportsCurrency(type: string, currency: string): boolean {
  const info = PAYMENT_METHOD_TYPES[type]
  return !!info && (info.currencies === "any" || info.currencies.includes(currency))
}

/** Types offered by `automatic_payment_methods` for a currency and capture method. */
export function automaticTypes(currency: string, manual: boolean): string[] {
  return Object.entries(PAYMENT_METHOD_TYPES)
    .filter(([type, info]) => supportsCurrency(type, currency) && (!manual || info.manualCapture))
    .map(([type]) => type)
}

export function defaultBehaviour(type: string): Behaviour {
  switch (PAYMENT_METHOD_TYPES[type]?.flow) {
    case "redirect":
      return { kind: "redirect" }
    case "blik":
      return { kind: "blik" }
    case "processing":
      return { kind: "processing" }
    default:
      return { kind: "succeed" }
  }
}

export interface CardTemplate {
  brand: string
  last4: string
  funding?: "credit" | "debit" | "prepaid"
  country?: string
}

/** A test payment method: the data of the PaymentMethod object and its behaviour. */
export interface PaymentMethodTemplate {
  id: string
  type: string
  card?: CardTemplate
  details?: Record<string, unknown>
  behaviour: Behaviour
}

const GENERIC_DECLINE = {
  kind: "decline",
  code: "card_declined",
  message: "Your card was declined.",
} as const

function card(
  id: string,
  details: CardTemplate,
  behaviour: Behaviour = { kind: "succeed" }
): PaymentMethodTemplate {
  return { id, type: "card", card: details, behaviour }
}

const CARDS: PaymentMethodTemplate[] = [
  card("pm_card_visa", { brand: "visa", last4: "4242" }),
  card("pm_card_visa_debit", { brand: "visa", last4: "5556", funding: "debit" }),
  card("pm_card_mastercard", { brand: "mastercard", last4: "4444" }),
  card("pm_card_mastercard_debit", { brand: "mastercard", last4: "8210", funding: "debit" }),
  card("pm_card_mastercard_prepaid", { brand: "mastercard", last4: "5100", funding: "prepaid" }),
  card("pm_card_amex", { brand: "amex", last4: "8431" }),
  card("pm_card_discover", { brand: "discover", last4: "1117" }),
  card("pm_card_diners", { brand: "diners", last4: "0004" }),
  card("pm_card_jcb", { brand: "jcb", last4: "0000", country: "JP" }),
  card("pm_card_unionpay", { brand: "unionpay", last4: "0005", country: "CN" }),
  card("pm_card_de", { brand: "visa", last4: "0016", country: "DE" }),
  card("pm_card_fr", { brand: "visa", last4: "0002", country: "FR" }),
  card("pm_card_nl", { brand: "visa", last4: "0008", country: "NL" }),
  card("pm_card_gb", { brand: "visa", last4: "0002", country: "GB" }),
  card("pm_card_pl", { brand: "visa", last4: "0000", country: "PL" }),
  card(
    "pm_card_chargeDeclined",
    { brand: "visa", last4: "0002" },
    {
      ...GENERIC_DECLINE,
      declineCode: "generic_decline",
    }
  ),
  card(
    "pm_card_chargeDeclinedInsufficientFunds",
    { brand: "visa", last4: "9995" },
    {
      ...GENERIC_DECLINE,
      declineCode: "insufficient_funds",
      message: "Your card has insufficient funds.",
    }
  ),
  card(
    "pm_card_chargeDeclinedLostCard",
    { brand: "visa", last4: "9987" },
    {
      ...GENERIC_DECLINE,
      declineCode: "lost_card",
    }
  ),
  card(
    "pm_card_chargeDeclinedStolenCard",
    { brand: "visa", last4: "9979" },
    {
      ...GENERIC_DECLINE,
      declineCode: "stolen_card",
    }
  ),
  card(
    "pm_card_chargeDeclinedFraudulent",
    { brand: "visa", last4: "0019" },
    {
      ...GENERIC_DECLINE,
      declineCode: "fraudulent",
    }
  ),
  card(
    "pm_card_chargeDeclinedExpiredCard",
    { brand: "visa", last4: "0069" },
    {
      kind: "decline",
      code: "expired_card",
      declineCode: "expired_card",
      message: "Your card has expired.",
    }
  ),
  card(
    "pm_card_chargeDeclinedIncorrectCvc",
    { brand: "visa", last4: "0127" },
    {
      kind: "decline",
      code: "incorrect_cvc",
      declineCode: "incorrect_cvc",
      message: "Your card's security code is incorrect.",
    }
  ),
  card(
    "pm_card_chargeDeclinedProcessingError",
    { brand: "visa", last4: "0119" },
    {
      kind: "decline",
      code: "processing_error",
      declineCode: "processing_error",
      message: "An error occurred while processing your card. Try again in a little bit.",
    }
  ),
  card(
    "pm_card_riskLevelElevated",
    { brand: "visa", last4: "9235" },
    {
      kind: "succeed",
      risk: "elevated",
    }
  ),
  card(
    "pm_card_riskLevelHighest",
    { brand: "visa", last4: "4954" },
    {
      ...GENERIC_DECLINE,
      declineCode: "fraudulent",
      blocked: true,
    }
  ),
  card(
    "pm_card_createDispute",
    { brand: "visa", last4: "0259" },
    {
      kind: "succeed",
      dispute: true,
    }
  ),
  card(
    "pm_card_threeDSecure2Required",
    { brand: "visa", last4: "3220" },
    {
      kind: "authenticate",
    }
  ),
  card(
    "pm_card_authenticationRequired",
    { brand: "visa", last4: "3155" },
    {
      kind: "authenticate",
    }
  ),
  card(
    "pm_card_authenticationRequiredOnSetup",
    { brand: "visa", last4: "3155" },
    {
      kind: "authenticate",
    }
  ),
]

const LOCAL: PaymentMethodTemplate[] = [
  {
    id: "pm_ideal",
    type: "ideal",
    details: { bank: "ing", bic: "INGBNL2A" },
    behaviour: { kind: "redirect" },
  },
  { id: "pm_bancontact", type: "bancontact", details: {}, behaviour: { kind: "redirect" } },
  { id: "pm_giropay", type: "giropay", details: {}, behaviour: { kind: "redirect" } },
  { id: "pm_p24", type: "p24", details: { bank: "ing" }, behaviour: { kind: "redirect" } },
  { id: "pm_klarna", type: "klarna", details: { dob: null }, behaviour: { kind: "redirect" } },
  { id: "pm_blik", type: "blik", details: {}, behaviour: { kind: "blik" } },
  {
    id: "pm_sepa_debit",
    type: "sepa_debit",
    details: {
      bank_code: "37040044",
      branch_code: null,
      country: "DE",
      fingerprint: "sEpAdEbItFpR1nT0",
      generated_from: { charge: null, setup_attempt: null },
      last4: "3000",
    },
    behaviour: { kind: "processing" },
  },
]

/** Every test payment method id, with the test card ids Stripe documents. */
export const TEST_PAYMENT_METHODS: ReadonlyMap<string, PaymentMethodTemplate> = new Map(
  [...CARDS, ...LOCAL].map((template) => [template.id, template])
)

/** A test id (`pm_card_visa`, `pm_ideal`...). Unknown `pm_card_*` ids are successful Visa cards. */
export function testPaymentMethod(id: string): PaymentMethodTemplate | undefined {
  const known = TEST_PAYMENT_METHODS.get(id)
  if (known) return known
  if (/^pm_card_[A-Za-z0-9_]+$/.test(id)) {
    return {
      id,
      type: "card",
      card: { brand: "visa", last4: "4242" },
      behaviour: { kind: "succeed" },
    }
  }
  return undefined
}

/** Card tokens (`tok_visa`, `tok_chargeDeclined`...) mirror the `pm_card_*` ids. */
export function testToken(token: string): PaymentMethodTemplate | undefined {
  const match = /^tok_([A-Za-z0-9_]+)$/.exec(token)
  return match ? TEST_PAYMENT_METHODS.get(`pm_card_${match[1]}`) : undefined
}

const CARD_NUMBERS: Readonly<Record<string, string>> = {
  "4242424242424242": "pm_card_visa",
  "4000056655665556": "pm_card_visa_debit",
  "5555555555554444": "pm_card_mastercard",
  "378282246310005": "pm_card_amex",
  "4000000000000002": "pm_card_chargeDeclined",
  "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
  "4000000000009987": "pm_card_chargeDeclinedLostCard",
  "4000000000009979": "pm_card_chargeDeclinedStolenCard",
  "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
  "4000000000000127": "pm_card_chargeDeclinedIncorrectCvc",
  "4000000000000119": "pm_card_chargeDeclinedProcessingError",
  "4000000000000259": "pm_card_createDispute",
  "4000000000003220": "pm_card_threeDSecure2Required",
  "4000002500003155": "pm_card_authenticationRequired",
}

/** The test card numbers Stripe documents; any other Luhn-shaped number is a Visa success. */
export function testCardNumber(number: string): PaymentMethodTemplate | undefined {
  const digits = number.replace(/\s+/g, "")
  const id = CARD_NUMBERS[digits]
  if (id) return TEST_PAYMENT_METHODS.get(id)
  if (/^\d{13,19}$/.test(digits)) {
    return {
      id: "pm_card_visa",
      type: "card",
      card: { brand: "visa", last4: digits.slice(-4) },
      behaviour: { kind: "succeed" },
    }
  }
  return undefined
}

/** Test IBANs for SEPA Direct Debit. */
export function testIban(iban: string): { last4: string; country: string; settles: boolean } {
  const compact = iban.replace(/\s+/g, "").toUpperCase()
  return {
    last4: compact.slice(-4),
    country: compact.slice(0, 2) || "DE",
    settles: !compact.endsWith("3001"),
  }
}

export const CARD_EXP_MONTH = 12
export const CARD_EXP_YEAR = 2034

/** The `card` hash of a PaymentMethod. */
export function cardDetails(
  template: CardTemplate,
  fingerprint: string
): Stripe.PaymentMethod.Card {
  return {
    brand: template.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
    country: template.country ?? "US",
    display_brand: template.brand,
    exp_month: CARD_EXP_MONTH,
    exp_year: CARD_EXP_YEAR,
    fingerprint,
    funding: template.funding ?? "credit",
    generated_from: null,
    last4: template.last4,
    networks: { available: [template.brand], preferred: null },
    three_d_secure_usage: { supported: true },
    wallet: null,
  }
}
