CREATE TABLE "admin_sessions" (
	"secret_hash" text PRIMARY KEY NOT NULL,
	"token_fingerprint" text NOT NULL,
	"csrf" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
