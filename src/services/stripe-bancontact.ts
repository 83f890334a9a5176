import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** Bancontact bank redirects (Belgium). */
export default class BancontactProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.bancontact
  static override settings: ProcessorSettings = {
    label: "Bancontact",
    paymentMethodTypes: ["bancontact"],
    manualCapture: false,
    currencies: ["eur"],
  }
}
