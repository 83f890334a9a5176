import { Column, Entity, Index, PrimaryColumn } from "typeorm"
import type { WebhookEventStatus } from "../core/webhook-events"

/** One row per Stripe event received, so that a redelivered event is processed only once. */
@Entity({ name: "stripe_webhook_event" })
export class StripeWebhookEvent {
  /** Stripe's event id (`evt_...`). */
  @PrimaryColumn({ type: "varchar" })
  id!: string

  @Column({ type: "varchar" })
  type!: string

  /** The cart or payment collection (or, for charges and disputes, the PaymentIntent). */
  @Index("IDX_stripe_webhook_event_resource_id")
  @Column({ type: "varchar", nullable: true })
  resource_id!: string | null

  @Column({ type: "varchar", default: "received" })
  status!: WebhookEventStatus

  @Column({ type: "integer", default: 0 })
  attempts!: number

  @Column({ type: "text", nullable: true })
  last_error!: string | null

  @Column({ type: "timestamp with time zone", default: () => "now()" })
  created_at!: Date

  @Column({ type: "timestamp with time zone", default: () => "now()" })
  updated_at!: Date

  @Column({ type: "timestamp with time zone", nullable: true })
  processed_at!: Date | null
}
