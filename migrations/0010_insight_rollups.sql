CREATE TABLE "job_day_durations" (
	"day" date NOT NULL,
	"installation_id" bigint NOT NULL,
	"job_type" text NOT NULL,
	"kind" text NOT NULL,
	"bucket" smallint NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "job_day_durations_day_installation_id_job_type_kind_bucket_pk" PRIMARY KEY("day","installation_id","job_type","kind","bucket")
);
--> statement-breakpoint
CREATE TABLE "job_day_outcomes" (
	"day" date NOT NULL,
	"installation_id" bigint NOT NULL,
	"job_type" text NOT NULL,
	"status" "job_status" NOT NULL,
	"failure_code" text NOT NULL,
	"jobs" integer NOT NULL,
	"duplicates" integer NOT NULL,
	"cost_usd" numeric(14, 6) NOT NULL,
	CONSTRAINT "job_day_outcomes_day_installation_id_job_type_status_failure_code_pk" PRIMARY KEY("day","installation_id","job_type","status","failure_code")
);
--> statement-breakpoint
CREATE TABLE "job_day_repositories" (
	"day" date NOT NULL,
	"installation_id" bigint NOT NULL,
	"repository_full_name" text NOT NULL,
	"jobs" integer NOT NULL,
	"completed" integer NOT NULL,
	"failed" integer NOT NULL,
	"cost_usd" numeric(14, 6) NOT NULL,
	CONSTRAINT "job_day_repositories_day_installation_id_repository_full_name_pk" PRIMARY KEY("day","installation_id","repository_full_name")
);
--> statement-breakpoint
CREATE TABLE "job_rollup_days" (
	"day" date PRIMARY KEY NOT NULL,
	"rolled_at" timestamp with time zone NOT NULL
);
