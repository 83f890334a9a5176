import type { MigrationInterface, QueryRunner } from "typeorm"

/** The retry sweep looks for unfinished events only; a partial index keeps that look cheap. */
export class StripeWebhookEventPendingIndex1764000000000 implements MigrationInterface {
  name = "StripeWebhookEventPendingIndex1764000000000"

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "IDX_stripe_webhook_event_pending" ON "stripe_webhook_event" ("updated_at")
       WHERE "status" IN ('received', 'processing', 'failed')`
    )
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "IDX_stripe_webhook_event_pending"`)
  }
}
