ALTER TABLE "jobs" ADD COLUMN "target_snapshot" jsonb;--> statement-breakpoint
ALTER TABLE "repository_configs" ADD COLUMN "config" jsonb;