import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** Przelewy24 bank redirects (Poland). */
export default class Przelewy24ProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.przelewy24
  static override settings: ProcessorSettings = {
    label: "Przelewy24",
    paymentMethodTypes: ["p24"],
    manualCapture: false,
    currencies: ["eur", "pln"],
  }
}
