import { validateComponent, SCHEMA_EXCEPTIONS, toJsonSchema } from "../../src/emulator"
import { routeMatches } from "../../src/emulator/controls"
import { parseSearchQuery } from "../../src/emulator/listing"
import { checkChargeAmount, formatAmount } from "../../src/emulator/money"
import { compileRequestValidator, toParamPath } from "../../src/emulator/schema"
import {
  assertTransition,
  canPerform,
  canTransition,
  IllegalTransitionError,
  INTENT_STATUSES,
  unexpectedStateMessage,
} from "../../src/emulator/transitions"
import { signatureHeader } from "../../src/emulator/webhooks"
import Stripe from "stripe"

describe("PaymentIntent transitions", () => {
  it("never leaves succeeded or canceled", () => {
    for (const to of INTENT_STATUSES) {
      if (to !== "succeeded") expect(canTransition("succeeded", to)).toBe(false)
      if (to !== "canceled") expect(canTransition("canceled", to)).toBe(false)
    }
  })

  it("captures only from requires_capture", () => {
    expect(INTENT_STATUSES.filter((status) => canPerform("capture", status))).toEqual([
      "requires_capture",
    ])
  })

  it("cancels from every open status except processing", () => {
    expect(INTENT_STATUSES.filter((status) => canPerform("cancel", status))).toEqual([
      "requires_payment_method",
      "requires_confirmation",
      "requires_action",
      "requires_capture",
    ])
  })

  it("updates setup fields only before confirmation completes", () => {
    expect(INTENT_STATUSES.filter((status) => canPerform("update", status))).toEqual([
      "requires_payment_method",
      "requires_confirmation",
      "requires_action",
    ])
  })

  it("throws on an impossible move", () => {
    expect(() => assertTransition("succeeded", "requires_capture")).toThrow(IllegalTransitionError)
    expect(() => assertTransition("requires_capture", "succeeded")).not.toThrow()
  })

  it("words refusals like Stripe", () => {
    expect(unexpectedStateMessage("cancel", "succeeded")).toBe(
      "You cannot cancel this PaymentIntent because it has a status of succeeded. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."
    )
  })
})

describe("Money", () => {
  it("formats amounts with the currency's decimals", () => {
    expect(formatAmount(50, "eur")).toBe("€0.50")
    expect(formatAmount(50, "jpy")).toBe("¥50")
    expect(formatAmount(1500, "kwd")).toContain("1.500")
  })

  it("checks minimums, maximum and three-decimal steps", () => {
    expect(checkChargeAmount(50, "usd")).toBeUndefined()
    expect(checkChargeAmount(49, "usd")?.code).toBe("amount_too_small")
    expect(checkChargeAmount(30, "gbp")).toBeUndefined()
    expect(checkChargeAmount(100_000_000, "usd")?.code).toBe("amount_too_large")
    expect(checkChargeAmount(999_999_999_999, "idr")).toBeUndefined()
    expect(checkChargeAmount(1_000_000_000_000, "idr")?.code).toBe("amount_too_large")
    expect(checkChargeAmount(1001, "bhd")?.code).toBe("invalid_charge_amount")
  })
})

describe("Request schema validation", () => {
  it("starts with no exceptions to the schema", () => {
    expect(SCHEMA_EXCEPTIONS).toEqual([])
  })

  it("accepts a parameter listed as an exception", () => {
    const exception = {
      method: "POST" as const,
      path: "/v1/refunds",
      param: "payment_method_options[future_option]",
      schema: { type: "string" },
      reason: "example",
    }
    const plain = compileRequestValidator("POST", "/v1/refunds", [])
    const extended = compileRequestValidator("POST", "/v1/refunds", [
      { ...exception, param: "future_option" },
    ])
    expect(plain({ future_option: "x" })).toMatchObject({ code: "parameter_unknown" })
    expect(extended({ future_option: "x" })).toBeUndefined()
    expect(() => compileRequestValidator("POST", "/v1/refunds", [exception])).toThrow(/parent/)
  })

  it("coerces form strings to the schema's types", () => {
    const validate = compileRequestValidator("POST", "/v1/payment_intents", [])
    const params: Record<string, unknown> = {
      amount: "1000",
      currency: "eur",
      confirm: "true",
      expand: "latest_charge",
    }
    expect(validate(params)).toBeUndefined()
    expect(params).toEqual({
      amount: 1000,
      currency: "eur",
      confirm: true,
      expand: ["latest_charge"],
    })
  })

  it("writes parameter paths in bracket form", () => {
    expect(toParamPath("/payment_method_options/card/request_three_d_secure")).toBe(
      "payment_method_options[card][request_three_d_secure]"
    )
    expect(toParamPath("/payment_method_types", "0")).toBe("payment_method_types[0]")
  })
})

describe("Response schema validation", () => {
  it("turns nullable into anyOf with null", () => {
    expect(toJsonSchema({ type: "string", nullable: true })).toEqual({
      anyOf: [{ type: "string" }, { type: "null" }],
    })
    expect(
      toJsonSchema({ anyOf: [{ $ref: "#/components/schemas/charge" }], nullable: true })
    ).toEqual({
      anyOf: [{ $ref: "stripe#/definitions/charge" }, { type: "null" }],
    })
  })

  it("reports objects that do not match", () => {
    const check = validateComponent("deleted_customer", {
      id: 1,
      object: "customer",
      deleted: "yes",
    })
    expect(check.valid).toBe(false)
    expect(check.errors).toEqual(
      expect.arrayContaining([
        "/id must be string",
        "/deleted must be equal to one of the allowed values",
      ])
    )
  })
})

describe("Search queries", () => {
  it("parses clauses joined by AND", () => {
    expect(
      parseSearchQuery("metadata['cart_id']:'c1' AND amount>1000", ["metadata", "amount"])
    ).toEqual({
      joiner: "AND",
      clauses: [
        { negate: false, field: "metadata", metadataKey: "cart_id", operator: ":", value: "c1" },
        { negate: false, field: "amount", operator: ">", value: 1000 },
      ],
    })
  })

  it("refuses mixing AND with OR and unknown fields", () => {
    expect(() => parseSearchQuery("status:'a' AND status:'b' OR status:'c'", ["status"])).toThrow()
    expect(() => parseSearchQuery("colour:'red'", ["status"])).toThrow(
      /not a supported search field/
    )
  })
})

describe("Route matchers", () => {
  it("matches labels, templates and prefixes", () => {
    expect(routeMatches("POST /v1/payment_intents", "POST /v1/payment_intents")).toBe(true)
    expect(routeMatches("POST /v1/payment_intents", "POST /v1/payment_intents/:id")).toBe(false)
    expect(routeMatches("/v1/refunds", "GET /v1/refunds")).toBe(true)
    expect(routeMatches("POST /v1/payment_intents*", "POST /v1/payment_intents/:id/confirm")).toBe(
      true
    )
    expect(routeMatches(undefined, "GET /v1/charges")).toBe(true)
  })
})

describe("Webhook signatures", () => {
  it("produces headers the SDK verifies", () => {
    const payload = JSON.stringify({
      id: "evt_1",
      object: "event",
      type: "customer.created",
      data: { object: {} },
    })
    const now = Math.floor(Date.now() / 1000)
    const header = signatureHeader(payload, "whsec_test", now)
    const stripe = new Stripe("sk_test_x", { apiVersion: "2024-04-10" })
    expect(stripe.webhooks.constructEvent(payload, header, "whsec_test").id).toBe("evt_1")
    expect(header).toBe(
      stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_test", timestamp: now })
    )
  })
})
