/** What distinguishes one Stripe payment processor from another. */
export interface ProcessorSettings {
  /** Name used in messages to shoppers and merchants. */
  readonly label: string
  /**
   * Payment method types of the intents this processor creates. Absent for the generic
   * `stripe` processor, which takes them from the options (or automatic payment methods).
   */
  readonly paymentMethodTypes?: readonly string[]
  /** Whether Stripe allows `capture_method: manual` for the method. */
  readonly manualCapture: boolean
  /** Presentment currencies the method accepts; absent: any currency Stripe accepts. */
  readonly currencies?: readonly string[]
  /** Set when Stripe no longer offers the method: every new payment is refused with this reason. */
  readonly retired?: string
}
