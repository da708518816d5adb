CREATE TABLE "maintenance_state" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "redeliveries" (
	"delivery_id" bigint PRIMARY KEY NOT NULL,
	"guid" text NOT NULL,
	"event" text NOT NULL,
	"status_code" integer NOT NULL,
	"asked_at" timestamp with time zone NOT NULL,
	"error" text
);
--> statement-breakpoint
DROP INDEX "jobs_finished_at";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "pruned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "jobs_finished_unpruned" ON "jobs" USING btree ("finished_at") WHERE finished_at is not null and pruned_at is null;