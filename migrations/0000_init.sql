CREATE TYPE "public"."failure_code" AS ENUM('TIMEOUT', 'API_ERROR', 'BUDGET_EXCEEDED', 'GIT_CLONE_FAILED', 'VALIDATION_ERROR', 'NO_OUTPUT', 'AGENT_ERROR', 'WORKER_LOST', 'MAX_ATTEMPTS', 'ACCESS_REVOKED', 'DUPLICATE', 'CANCELLED', 'RATE_LIMITED');--> statement-breakpoint
CREATE TYPE "public"."job_hold" AS ENUM('awaiting_approval', 'awaiting_input', 'blocked_by', 'paused');--> statement-breakpoint
CREATE TYPE "public"."job_status" AS ENUM('pending', 'queued', 'running', 'deferred', 'completed', 'failed', 'abandoned', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."target_kind" AS ENUM('issue', 'pull_request');--> statement-breakpoint
CREATE TABLE "installations" (
	"id" bigint PRIMARY KEY NOT NULL,
	"account_login" text NOT NULL,
	"account_type" text DEFAULT 'User' NOT NULL,
	"suspended_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" bigint NOT NULL,
	"from_status" "job_status",
	"to_status" "job_status" NOT NULL,
	"code" text,
	"message" text,
	"actor" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"data" jsonb
);
--> statement-breakpoint
CREATE TABLE "job_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"seq" integer NOT NULL,
	"stream" text NOT NULL,
	"line" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"repository_id" bigint NOT NULL,
	"repository_full_name" text NOT NULL,
	"target_number" integer NOT NULL,
	"target_kind" "target_kind" NOT NULL,
	"target_title" text,
	"target_url" text,
	"job_type" text NOT NULL,
	"trigger_label" text,
	"triggered_by" text,
	"delivery_id" text,
	"status" "job_status" NOT NULL,
	"hold" "job_hold",
	"failure_code" "failure_code",
	"failure_message" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 3 NOT NULL,
	"retry_of" bigint,
	"retry_number" integer DEFAULT 0 NOT NULL,
	"duplicate_of" bigint,
	"blocked_by" bigint,
	"run_after" timestamp with time zone,
	"timeout_seconds" integer DEFAULT 2700 NOT NULL,
	"worker_id" text,
	"lease_expires_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"deadline_at" timestamp with time zone,
	"progress" smallint,
	"progress_message" text,
	"cost_usd" numeric(12, 6),
	"input_tokens" bigint,
	"output_tokens" bigint,
	"result_url" text,
	"result_summary" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"queued_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "repository_configs" (
	"repository_id" bigint PRIMARY KEY NOT NULL,
	"repository_full_name" text NOT NULL,
	"triggers" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"remove_label_when_done" boolean DEFAULT true NOT NULL,
	"allow_bots" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"problems" jsonb,
	"fetched_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_comments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"repository_id" bigint NOT NULL,
	"repository_full_name" text NOT NULL,
	"target_number" integer NOT NULL,
	"comment_id" bigint,
	"rendered_body" text,
	"dirty_since" timestamp with time zone,
	"last_error" text,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job_logs" ADD CONSTRAINT "job_logs_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_installation_id_installations_id_fk" FOREIGN KEY ("installation_id") REFERENCES "public"."installations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "job_events_by_job" ON "job_events" USING btree ("job_id","id");--> statement-breakpoint
CREATE INDEX "job_logs_by_job" ON "job_logs" USING btree ("job_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_one_active_per_target" ON "jobs" USING btree ("repository_id","target_number","job_type") WHERE status in ('pending', 'queued', 'running', 'deferred');--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_delivery_id" ON "jobs" USING btree ("delivery_id") WHERE delivery_id is not null;--> statement-breakpoint
CREATE INDEX "jobs_by_target" ON "jobs" USING btree ("repository_id","target_number","id");--> statement-breakpoint
CREATE INDEX "jobs_by_status_keyset" ON "jobs" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "jobs_queued_for_claim" ON "jobs" USING btree ("installation_id","queued_at","id") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_running_by_installation" ON "jobs" USING btree ("installation_id","job_type") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "jobs_running_deadline" ON "jobs" USING btree ("deadline_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "jobs_running_lease" ON "jobs" USING btree ("lease_expires_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "jobs_deferred_due" ON "jobs" USING btree ("run_after") WHERE status = 'deferred' and hold is null;--> statement-breakpoint
CREATE INDEX "jobs_held_since" ON "jobs" USING btree ("updated_at") WHERE hold is not null;--> statement-breakpoint
CREATE INDEX "jobs_pending_since" ON "jobs" USING btree ("created_at") WHERE status = 'pending' and hold is null;--> statement-breakpoint
CREATE INDEX "jobs_finished_at" ON "jobs" USING btree ("finished_at") WHERE finished_at is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "status_comments_target" ON "status_comments" USING btree ("repository_id","target_number");--> statement-breakpoint
CREATE INDEX "status_comments_dirty" ON "status_comments" USING btree ("dirty_since") WHERE dirty_since is not null;