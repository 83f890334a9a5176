import { currencies as medusaCurrencies } from "@medusajs/medusa/dist/utils/currencies"
import {
  AmountError,
  fromStripeAmount,
  MEDUSA_THREE_DECIMAL,
  MEDUSA_ZERO_DECIMAL,
  STRIPE_ZERO_DECIMAL,
  stripeDecimals,
  toChargeableStripeAmount,
  toStripeAmount,
} from "../../src/core/amounts"

describe("toStripeAmount", () => {
  it.each([
    ["two-decimal currency passes through", 1999, "eur", 1999],
    ["upper-case codes are accepted", 1999, "USD", 1999],
    ["zero-decimal in both tables passes through", 5000, "jpy", 5000],
    ["KRW stays in whole won", 12000, "krw", 12000],
    ["three-decimal amount already a multiple of 10", 1230, "kwd", 1230],
    ["ISK whole krónur are sent with two zero decimals", 500, "isk", 50000],
    ["HUF whole forints become fillér", 1000, "huf", 100000],
    ["COP whole pesos become centavos", 25000, "cop", 2500000],
    ["IDR whole rupiah become sen", 15000, "idr", 1500000],
    ["VUV stored with decimals by Medusa becomes whole vatu", 12300, "vuv", 123],
    ["XPF stored with decimals by Medusa becomes whole francs", 10100, "xpf", 101],
    ["zero is zero", 0, "eur", 0],
  ])("%s (%d %s -> %d)", (_name, amount, currency, expected) => {
    expect(toStripeAmount(amount, currency)).toBe(expected)
  })

  it.each([
    [-1, "invalid_amount"],
    [10.5, "invalid_amount"],
    [Number.NaN, "invalid_amount"],
    [Number.POSITIVE_INFINITY, "invalid_amount"],
    [Number.MAX_SAFE_INTEGER + 2, "invalid_amount"],
  ])("refuses %p with %s", (amount, code) => {
    expect(() => toStripeAmount(amount, "eur")).toThrow(AmountError)
    try {
      toStripeAmount(amount, "eur")
    } catch (error) {
      expect((error as AmountError).code).toBe(code)
    }
  })

  it.each([
    ["a three-decimal amount card networks cannot settle", 1235, "kwd"],
    ["another one, which rounding down would book short", 1234, "bhd"],
    ["VUV with centimes Stripe has no unit for", 12345, "vuv"],
    ["XPF with centimes Stripe has no unit for", 10050, "xpf"],
  ])("refuses %s rather than rounding it (%d %s)", (_name, amount, currency) => {
    expect(() => toStripeAmount(amount, currency)).toThrow(
      expect.objectContaining({ code: "amount_not_representable" })
    )
  })

  it.each(["", "eu", "euro", "e1r", undefined, 42])("refuses the currency %p", (currency) => {
    expect(() => toStripeAmount(100, currency as string)).toThrow(/three-letter ISO code/)
  })
})

describe("fromStripeAmount", () => {
  it.each([
    [1999, "eur", 1999],
    [5000, "jpy", 5000],
    [50000, "isk", 500],
    [1240, "kwd", 1240],
    [123, "vuv", 12300],
  ])("converts %d %s back to %d in Medusa's unit", (amount, currency, expected) => {
    expect(fromStripeAmount(amount, currency)).toBe(expected)
  })
})

describe("toChargeableStripeAmount", () => {
  it("accepts Stripe's minimum charge", () => {
    expect(toChargeableStripeAmount(50, "eur")).toBe(50)
  })

  it("refuses amounts below Stripe's minimum charge and names the minimum", () => {
    expect(() => toChargeableStripeAmount(49, "eur")).toThrow(
      "Amount 0.49 EUR is below Stripe's minimum charge of 0.50 EUR"
    )
  })

  it("applies the minimum in the currency's own unit for zero-decimal currencies", () => {
    expect(() => toChargeableStripeAmount(49, "jpy")).toThrow(/minimum charge of 50 JPY/)
    expect(toChargeableStripeAmount(50, "jpy")).toBe(50)
  })

  it("refuses zero even for currencies without a published minimum", () => {
    expect(() => toChargeableStripeAmount(0, "kwd")).toThrow(/greater than zero/)
  })

  it("refuses amounts above Stripe's eight-digit maximum", () => {
    expect(() => toChargeableStripeAmount(100_000_000, "usd")).toThrow(/above Stripe's maximum/)
  })

  it("accepts IDR up to Stripe's twelve digits (Rp 1,000,000 is nine in sen)", () => {
    expect(toChargeableStripeAmount(1_000_000, "idr")).toBe(100_000_000)
    expect(toChargeableStripeAmount(9_999_999_999, "idr")).toBe(999_999_999_900)
    expect(() => toChargeableStripeAmount(10_000_000_000, "idr")).toThrow(
      /above Stripe's maximum of 9999999999.99 IDR/
    )
  })
})

describe("currency tables", () => {
  const medusaByDigits = (digits: number): string[] =>
    Object.values(medusaCurrencies)
      .filter((currency) => currency.decimal_digits === digits)
      .map((currency) => currency.code.toLowerCase())
      .sort()

  it("agree with Medusa's zero-decimal currencies", () => {
    expect([...MEDUSA_ZERO_DECIMAL].sort()).toEqual(medusaByDigits(0))
  })

  it("agree with Medusa's three-decimal currencies", () => {
    expect([...MEDUSA_THREE_DECIMAL].sort()).toEqual(medusaByDigits(3))
  })

  it.each([...STRIPE_ZERO_DECIMAL])("treat %s as zero-decimal for Stripe", (currency) => {
    expect(stripeDecimals(currency)).toBe(0)
  })
})
