ALTER TABLE "jobs" ADD COLUMN "reaction_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "reacted_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "reaction_locked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "status_comments" ADD COLUMN "version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "status_comments" ADD COLUMN "synced_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_reactions_due" ON "jobs" USING btree ("updated_at") WHERE reaction_version > reacted_version;--> statement-breakpoint
UPDATE "status_comments" SET "version" = 1 WHERE "dirty_since" IS NOT NULL;
