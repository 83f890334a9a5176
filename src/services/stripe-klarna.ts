import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** Klarna pay later and instalments. */
export default class KlarnaProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.klarna
  static override settings: ProcessorSettings = {
    label: "Klarna",
    paymentMethodTypes: ["klarna"],
    manualCapture: true,
    currencies: [
      "aud",
      "cad",
      "chf",
      "czk",
      "dkk",
      "eur",
      "gbp",
      "nok",
      "nzd",
      "pln",
      "ron",
      "sek",
      "usd",
    ],
  }
}
