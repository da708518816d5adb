ALTER TABLE "admin_sessions" ADD COLUMN "login" text;--> statement-breakpoint
ALTER TABLE "admin_sessions" ADD COLUMN "installation_ids" jsonb;