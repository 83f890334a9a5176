import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** Kept so carts that still name `stripe-giropay` get a clear answer instead of a missing provider. */
export default class GiropayProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.giropay
  static override settings: ProcessorSettings = {
    label: "giropay",
    paymentMethodTypes: ["giropay"],
    manualCapture: false,
    currencies: ["eur"],
    retired:
      "Stripe retired giropay on 30 June 2024; offer cards, wallets or another local method instead",
  }
}
