import { parseOptions, StripeOptionsError } from "../../src/options"

const KEY = "sk_test_51abcDEF"
const noEnv = {}

describe("parseOptions", () => {
  it("fills the documented defaults", () => {
    expect(parseOptions({ api_key: KEY }, noEnv)).toEqual({
      apiKey: KEY,
      webhookSecret: undefined,
      capture: false,
      automaticPaymentMethods: false,
      paymentDescription: undefined,
      statementDescriptorSuffix: undefined,
      paymentMethodTypes: ["card"],
      setupFutureUsage: undefined,
      metadata: {},
      apiVersion: "2024-04-10",
      maxNetworkRetries: 2,
      timeout: 20000,
      webhookTolerance: 300,
      webhookRetryIntervalMs: 60_000,
      lockPoolSize: 10,
      queryPoolSize: 4,
      host: undefined,
      port: undefined,
      protocol: undefined,
    })
  })

  it("takes the webhook retry interval in seconds, and 0 to turn the retry sweep off", () => {
    expect(
      parseOptions({ api_key: KEY, webhook_retry_interval: 5 }, noEnv).webhookRetryIntervalMs
    ).toBe(5000)
    expect(
      parseOptions({ api_key: KEY, webhook_retry_interval: 0 }, noEnv).webhookRetryIntervalMs
    ).toBe(0)
    expect(() => parseOptions({ api_key: KEY, webhook_retry_interval: -1 }, noEnv)).toThrow(
      'option "webhook_retry_interval" must be an integer from 0 to 86400, got -1'
    )
  })

  it("reads the key and webhook secret from the environment when absent", () => {
    const options = parseOptions(
      {},
      { STRIPE_API_KEY: "rk_live_abc", STRIPE_WEBHOOK_SECRET: "whsec_abc" }
    )
    expect(options.apiKey).toBe("rk_live_abc")
    expect(options.webhookSecret).toBe("whsec_abc")
  })

  it("prefers the configured key over the environment", () => {
    expect(parseOptions({ api_key: KEY }, { STRIPE_API_KEY: "sk_test_other" }).apiKey).toBe(KEY)
  })

  it("returns a frozen object", () => {
    expect(Object.isFrozen(parseOptions({ api_key: KEY }, noEnv))).toBe(true)
  })

  it("accepts the settings for the emulator", () => {
    const options = parseOptions(
      { api_key: KEY, host: "127.0.0.1", port: "12111", protocol: "http" },
      noEnv
    )
    expect([options.host, options.port, options.protocol]).toEqual(["127.0.0.1", 12111, "http"])
  })

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a missing key", {}, /"api_key" is required/],
    ["a publishable key", { api_key: "pk_test_abc" }, /"api_key" is a publishable key/],
    ["a random string as key", { api_key: "hello" }, /"api_key" must be a Stripe secret key/],
    ["a non-string key", { api_key: 42 }, /"api_key" must be a string/],
    [
      "a webhook secret without whsec_",
      { api_key: KEY, webhook_secret: "abc" },
      /"webhook_secret"/,
    ],
    ["capture as a number", { api_key: KEY, capture: 1 }, /"capture" must be true or false/],
    [
      "an empty payment_method_types",
      { api_key: KEY, payment_method_types: [] },
      /"payment_method_types"/,
    ],
    [
      "a bad setup_future_usage",
      { api_key: KEY, setup_future_usage: "always" },
      /"setup_future_usage" must be "on_session" or "off_session"/,
    ],
    ["non-string metadata", { api_key: KEY, metadata: { a: 1 } }, /"metadata" entry "a"/],
    [
      "a long statement descriptor suffix",
      { api_key: KEY, statement_descriptor_suffix: "x".repeat(23) },
      /"statement_descriptor_suffix"/,
    ],
    ["a negative retry count", { api_key: KEY, max_network_retries: -1 }, /"max_network_retries"/],
    ["a zero timeout", { api_key: KEY, timeout: 0 }, /"timeout"/],
    ["a port out of range", { api_key: KEY, port: 70000 }, /"port"/],
    ["an unknown protocol", { api_key: KEY, protocol: "ftp" }, /"protocol"/],
    ["a malformed api_version", { api_key: KEY, api_version: "latest" }, /"api_version"/],
    [
      "an api_version the plugin is not tested with",
      { api_key: KEY, api_version: "2026-09-30.endive" },
      /"api_version" must be a Stripe API version this plugin is tested with \(2024-04-10\)/,
    ],
    ["a lock pool of no connection", { api_key: KEY, lock_pool_size: 0 }, /"lock_pool_size"/],
    ["a fractional query pool", { api_key: KEY, query_pool_size: 2.5 }, /"query_pool_size"/],
    ["an unknown option", { api_key: KEY, captrue: true }, /"captrue" is not a known option/],
  ]

  it.each(refused)("refuses %s with an error naming the option", (_name, input, message) => {
    expect(() => parseOptions(input, noEnv)).toThrow(StripeOptionsError)
    expect(() => parseOptions(input, noEnv)).toThrow(message)
  })

  it("never puts the secret key in an error message", () => {
    const secret = "sk_test_supersecretvalue!"
    let message = ""
    try {
      parseOptions({ api_key: secret }, noEnv)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/"api_key"/)
    expect(message).not.toContain("supersecretvalue")
  })
})
