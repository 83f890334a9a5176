import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** iDEAL bank redirects (Netherlands). */
export default class IdealProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.ideal
  static override settings: ProcessorSettings = {
    label: "iDEAL",
    paymentMethodTypes: ["ideal"],
    manualCapture: false,
    currencies: ["eur"],
  }
}
