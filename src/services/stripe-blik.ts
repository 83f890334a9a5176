import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** BLIK codes confirmed in the shopper's banking app (Poland). */
export default class BlikProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.blik
  static override settings: ProcessorSettings = {
    label: "BLIK",
    paymentMethodTypes: ["blik"],
    manualCapture: false,
    currencies: ["pln"],
  }
}
