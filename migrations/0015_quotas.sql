ALTER TYPE "public"."job_hold" ADD VALUE 'quota_reached';--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "hold_reason" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "quota_waived_by" text;