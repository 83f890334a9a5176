import type { MigrationInterface, QueryRunner } from "typeorm"

export class StripeWebhookEvent1732460000000 implements MigrationInterface {
  name = "StripeWebhookEvent1732460000000"

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "stripe_webhook_event" (
        "id" character varying NOT NULL,
        "type" character varying NOT NULL,
        "resource_id" character varying,
        "status" character varying NOT NULL DEFAULT 'received',
        "attempts" integer NOT NULL DEFAULT 0,
        "last_error" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "processed_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_stripe_webhook_event" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_stripe_webhook_event_status"
          CHECK ("status" IN ('received', 'processing', 'processed', 'failed', 'ignored'))
      )
    `)
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "IDX_stripe_webhook_event_resource_id" ON "stripe_webhook_event" ("resource_id")`
    )
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "IDX_stripe_webhook_event_resource_id"`)
    await queryRunner.query(`DROP TABLE IF EXISTS "stripe_webhook_event"`)
  }
}
