/** Currencies charged without minor units: the amount is in whole units. */
export const ZERO_DECIMAL_CURRENCIES: readonly string[] = [
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
]

/** Currencies with three decimals; card networks need the last digit to be 0. */
export const THREE_DECIMAL_CURRENCIES: readonly string[] = ["bhd", "jod", "kwd", "omr", "tnd"]

/** Presentment currencies accepted for charges. */
export const SUPPORTED_CURRENCIES: ReadonlySet<string> = new Set(
  (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp " +
    "byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip " +
    "gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt " +
    "lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr " +
    "nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd " +
    "std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw"
  ).split(" ")
)

/**
 * Minimum charge amounts in the smallest unit (Stripe's table); other currencies fall back to
 * {@link DEFAULT_MINIMUM}, roughly the equivalent of $0.50.
 */
export const MINIMUM_CHARGE_AMOUNTS: Readonly<Record<string, number>> = {
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
  bhd: 200,
  jod: 400,
  kwd: 200,
  omr: 200,
  tnd: 1600,
}

export const DEFAULT_MINIMUM = 50

/** The largest amount a charge may have (eight digits). */
export const MAXIMUM_CHARGE_AMOUNT = 99_999_999

/** Currencies whose charges may have more digits than eight (IDR: twelve). */
export const MAXIMUM_CHARGE_AMOUNTS: Record<string, number> = {
  idr: 999_999_999_999,
}

export function maximumChargeAmount(currency: string): number {
  return MAXIMUM_CHARGE_AMOUNTS[currency] ?? MAXIMUM_CHARGE_AMOUNT
}

export function decimalsOf(currency: string): number {
  if (ZERO_DECIMAL_CURRENCIES.includes(currency)) return 0
  if (THREE_DECIMAL_CURRENCIES.includes(currency)) return 3
  return 2
}

export function minimumChargeAmount(currency: string): number {
  return MINIMUM_CHARGE_AMOUNTS[currency] ?? DEFAULT_MINIMUM
}

const formatters = new Map<string, Intl.NumberFormat | null>()

function formatterFor(currency: string): Intl.NumberFormat | null {
  let formatter = formatters.get(currency)
  if (formatter === undefined) {
    const digits = decimalsOf(currency)
    try {
      formatter = new Intl.NumberFormat("en-US", {
        style: "currency",
        currency: currency.toUpperCase(),
        currencyDisplay: "narrowSymbol",
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    } catch {
      formatter = null
    }
    formatters.set(currency, formatter)
  }
  return formatter
}

/** `1099, "eur"` -> `€10.99`, `50, "jpy"` -> `¥50`, `1500, "kwd"` -> `KWD 1.500`. */
export function formatAmount(amount: number, currency: string): string {
  const digits = decimalsOf(currency)
  const major = amount / 10 ** digits
  const formatter = formatterFor(currency)
  return formatter ? formatter.format(major) : `${major.toFixed(digits)} ${currency}`
}

export type AmountProblem =
  | { code: "amount_too_small"; message: string }
  | { code: "amount_too_large"; message: string }
  | { code: "invalid_charge_amount"; message: string }
  | { code: "parameter_invalid_integer"; message: string }

/** What Stripe says about charging `amount` in `currency`; undefined when it is fine. */
export function checkChargeAmount(amount: number, currency: string): AmountProblem | undefined {
  if (amount < 1) {
    return {
      code: "parameter_invalid_integer",
      message: "This value must be greater than or equal to 1.",
    }
  }
  const minimum = minimumChargeAmount(currency)
  if (amount < minimum) {
    return {
      code: "amount_too_small",
      message: `Amount must be at least ${formatAmount(minimum, currency)} ${currency}`,
    }
  }
  const maximum = maximumChargeAmount(currency)
  if (amount > maximum) {
    return {
      code: "amount_too_large",
      message: `Amount must be no more than ${formatAmount(maximum, currency)} ${currency}`,
    }
  }
  if (THREE_DECIMAL_CURRENCIES.includes(currency) && amount % 10 !== 0) {
    return {
      code: "invalid_charge_amount",
      message:
        `Invalid amount ${amount} for ${currency}: ${currency} has three decimals and card ` +
        `networks only settle it in steps of 10 (the last digit must be 0).`,
    }
  }
  return undefined
}
