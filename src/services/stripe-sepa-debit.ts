import { StripeBase } from "../core/stripe-base"
import type { ProcessorSettings } from "../core/processor-settings"
import { PROVIDER_IDS } from "../constants"

/** SEPA Direct Debit: settles days after confirmation, so the intent stays `processing` until then. */
export default class SepaDebitProviderService extends StripeBase {
  static override identifier = PROVIDER_IDS.sepaDebit
  static override settings: ProcessorSettings = {
    label: "SEPA Direct Debit",
    paymentMethodTypes: ["sepa_debit"],
    manualCapture: false,
    currencies: ["eur"],
  }
}
