/**
 * Money conversion between Medusa v1 and Stripe.
 *
 * Medusa v1 stores amounts as integers in the currency's minor unit as Medusa defines it
 * (its currency table gives JPY, HUF or ISK no decimals and KWD three). Stripe has its own
 * table, so the conversion is a power of ten per currency, plus Stripe's special cases.
 */

/** Currencies Stripe charges in whole units. */
export const STRIPE_ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
])

/** Currencies Stripe charges in thousandths; the last digit must be 0. */
export const STRIPE_THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"])

/**
 * Zero-decimal in practice, but Stripe keeps a two-decimal representation whose decimals
 * must be 00 (5 ISK is sent as 500).
 */
export const STRIPE_WHOLE_UNITS_AS_TWO_DECIMALS = new Set(["isk"])

/** Medusa v1's currency table (`utils/currencies`): currencies it stores without decimals. */
export const MEDUSA_ZERO_DECIMAL = new Set([
  "afn",
  "all",
  "amd",
  "bif",
  "clp",
  "cop",
  "crc",
  "djf",
  "gnf",
  "huf",
  "idr",
  "iqd",
  "irr",
  "isk",
  "jpy",
  "kmf",
  "krw",
  "lbp",
  "mga",
  "mmk",
  "mnt",
  "mur",
  "pkr",
  "pyg",
  "rsd",
  "rwf",
  "sos",
  "syp",
  "tzs",
  "ugx",
  "uzs",
  "vnd",
  "xaf",
  "xof",
  "yer",
  "zmk",
  "zwl",
])

/** Medusa v1's currency table: currencies it stores in thousandths. */
export const MEDUSA_THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "lyd", "omr", "tnd"])

/**
 * Stripe's minimum charge per settlement currency, in Stripe's minor units
 * (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
 */
export const STRIPE_MINIMUM_CHARGE: Readonly<Record<string, number>> = {
  usd: 50,
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
}

/** Stripe's largest amount for a single charge (eight digits), in Stripe's minor units. */
export const STRIPE_MAXIMUM_CHARGE = 99_999_999

/** Currencies whose largest charge has more than eight digits (IDR: twelve). */
export const STRIPE_MAXIMUM_CHARGE_BY_CURRENCY: Readonly<Record<string, number>> = {
  idr: 999_999_999_999,
}

export function stripeMaximumCharge(currency: string): number {
  return STRIPE_MAXIMUM_CHARGE_BY_CURRENCY[normalizeCurrency(currency)] ?? STRIPE_MAXIMUM_CHARGE
}

export type AmountErrorCode =
  | "invalid_amount"
  | "invalid_currency"
  | "amount_too_small"
  | "amount_too_large"
  | "amount_not_representable"

export class AmountError extends Error {
  constructor(
    readonly code: AmountErrorCode,
    message: string
  ) {
    super(message)
    this.name = "AmountError"
  }
}

export function normalizeCurrency(currency: unknown): string {
  if (typeof currency !== "string" || !/^[a-zA-Z]{3}$/.test(currency)) {
    throw new AmountError(
      "invalid_currency",
      `Currency must be a three-letter ISO code, got ${JSON.stringify(currency)}`
    )
  }
  return currency.toLowerCase()
}

export function stripeDecimals(currency: string): number {
  const code = normalizeCurrency(currency)
  if (STRIPE_ZERO_DECIMAL.has(code)) return 0
  if (STRIPE_THREE_DECIMAL.has(code)) return 3
  return 2
}

export function medusaDecimals(currency: string): number {
  const code = normalizeCurrency(currency)
  if (MEDUSA_ZERO_DECIMAL.has(code)) return 0
  if (MEDUSA_THREE_DECIMAL.has(code)) return 3
  return 2
}

/** The multiple Stripe requires of an amount in this currency. */
function stripeGranularity(code: string): number {
  if (STRIPE_THREE_DECIMAL.has(code)) return 10
  if (STRIPE_WHOLE_UNITS_AS_TWO_DECIMALS.has(code)) return 100
  return 1
}

function assertAmount(amount: unknown): asserts amount is number {
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount < 0) {
    throw new AmountError(
      "invalid_amount",
      `Amount must be a non-negative integer in the currency's smallest unit, got ${JSON.stringify(amount)}`
    )
  }
}

/**
 * Converts a Medusa amount to the integer Stripe expects. An amount Stripe cannot represent
 * exactly (1.235 KWD: card networks settle three-decimal currencies in steps of 0.010) is
 * refused rather than rounded: rounding up would charge the shopper more than the total Medusa
 * shows, rounding down would book in Medusa more than Stripe holds.
 */
export function toStripeAmount(amount: number, currency: string): number {
  assertAmount(amount)
  const code = normalizeCurrency(currency)
  const shift = stripeDecimals(code) - medusaDecimals(code)
  const exact = shift >= 0 ? amount * 10 ** shift : amount / 10 ** -shift
  const granularity = stripeGranularity(code)
  if (!Number.isSafeInteger(exact) || exact % granularity !== 0) {
    const step = formatStripeAmount(granularity, code)
    throw new AmountError(
      "amount_not_representable",
      `${formatMedusaAmount(amount, code)} cannot be charged or refunded through Stripe, which takes ${code.toUpperCase()} in steps of ${step}; price in multiples of ${step}`
    )
  }
  return exact
}

function formatMedusaAmount(amount: number, code: string): string {
  const decimals = medusaDecimals(code)
  return `${(amount / 10 ** decimals).toFixed(decimals)} ${code.toUpperCase()}`
}

/** Converts a Stripe amount back to Medusa's minor unit. */
export function fromStripeAmount(amount: number, currency: string): number {
  assertAmount(amount)
  const code = normalizeCurrency(currency)
  const shift = medusaDecimals(code) - stripeDecimals(code)
  return Math.round(amount * 10 ** shift)
}

/** Formats a Stripe amount for people, e.g. `0.50 EUR`. */
export function formatStripeAmount(amount: number, currency: string): string {
  const code = normalizeCurrency(currency)
  const decimals = stripeDecimals(code)
  return `${(amount / 10 ** decimals).toFixed(decimals)} ${code.toUpperCase()}`
}

/**
 * Converts and checks an amount to charge: it must be payable through Stripe.
 * Returns the Stripe amount or throws an {@link AmountError} that names the limit.
 */
export function toChargeableStripeAmount(amount: number, currency: string): number {
  const code = normalizeCurrency(currency)
  const stripeAmount = toStripeAmount(amount, code)
  const minimum = STRIPE_MINIMUM_CHARGE[code]
  if (minimum !== undefined && stripeAmount < minimum) {
    throw new AmountError(
      "amount_too_small",
      `Amount ${formatStripeAmount(stripeAmount, code)} is below Stripe's minimum charge of ${formatStripeAmount(minimum, code)}`
    )
  }
  if (stripeAmount <= 0) {
    throw new AmountError("amount_too_small", "Amount must be greater than zero to charge a card")
  }
  const maximum = stripeMaximumCharge(code)
  if (stripeAmount > maximum) {
    throw new AmountError(
      "amount_too_large",
      `Amount ${formatStripeAmount(stripeAmount, code)} is above Stripe's maximum of ${formatStripeAmount(maximum, code)}`
    )
  }
  return stripeAmount
}
