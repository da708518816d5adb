ALTER TABLE "comment_commands" ADD COLUMN "note" text;--> statement-breakpoint
ALTER TABLE "comment_commands" ADD COLUMN "in_thread" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "review_round" integer;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "review" jsonb;