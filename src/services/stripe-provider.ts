import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** Cards and wallets, or every method enabled in the dashboard with `automatic_payment_methods`. */
export default class StripeProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.stripe
  static override settings: ProcessorSettings = { label: "Card", manualCapture: true }
}
