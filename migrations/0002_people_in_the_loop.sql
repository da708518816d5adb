CREATE TABLE "comment_commands" (
	"comment_id" bigint PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"repository_id" bigint NOT NULL,
	"repository_full_name" text NOT NULL,
	"target_number" integer NOT NULL,
	"author" text NOT NULL,
	"command" text NOT NULL,
	"job_type" text,
	"state" text DEFAULT 'received' NOT NULL,
	"outcome" text,
	"created_at" timestamp with time zone NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "pause_requested" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "question" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "question_comment_id" bigint;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "question_asked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "answers" jsonb;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "approved_by" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "parent_job_id" bigint;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "result_pr_state" text;--> statement-breakpoint
CREATE INDEX "comment_commands_unfinished" ON "comment_commands" USING btree ("created_at") WHERE state in ('received', 'running');--> statement-breakpoint
CREATE INDEX "jobs_by_repository" ON "jobs" USING btree ("repository_full_name","id");--> statement-breakpoint
CREATE INDEX "jobs_by_result_url" ON "jobs" USING btree ("result_url") WHERE result_url is not null;--> statement-breakpoint
CREATE INDEX "jobs_blocked_by" ON "jobs" USING btree ("blocked_by") WHERE blocked_by is not null;