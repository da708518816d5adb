ALTER TABLE "jobs" ADD COLUMN "check_head_sha" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "check_run_id" bigint;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "check_run_state" text;--> statement-breakpoint
CREATE INDEX "jobs_by_check_run" ON "jobs" USING btree ("check_run_id") WHERE check_run_id is not null;