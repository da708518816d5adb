import { readFileSync } from "node:fs";
import { getPrivateKey } from "@probot/get-private-key";
import { z } from "zod";
import { coerceError } from "../errors.js";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const seconds = z.coerce.number().positive();
const flag = z
  .enum(["true", "false", "1", "0", ""])
  .default("false")
  .transform((v) => v === "true" || v === "1");

/**
 * Every environment variable labelrun reads, with its default. Parsed once at
 * start-up by `loadEnv`; code below `src/bin` never reads `process.env`.
 */
export const envSchema = z.object({
  /** Port of the HTTP server (webhooks, dashboard, API, health). */
  PORT: port.default(3000),
  /**
   * Address to listen on. Default: every address (0.0.0.0) when ADMIN_TOKEN is set; loopback
   * only (127.0.0.1) when it is not, since the board and API then answer without signing in.
   */
  HOST: z.string().min(1).optional(),
  /** PostgreSQL URL. Unset: an embedded PGlite database in `LABELRUN_DATA_DIR` (one process only). */
  DATABASE_URL: z.string().url().optional(),
  /** Folder of the embedded database when `DATABASE_URL` is unset. */
  LABELRUN_DATA_DIR: z.string().default("./.data"),
  /** Pool size per process on a real server. */
  DATABASE_POOL_SIZE: positiveInt.default(10),
  /** The GitHub App's id (from its settings page). */
  APP_ID: z.string().regex(/^\d+$/, "must be the numeric App ID").optional(),
  /** The App's private key (PEM; `\n` escapes and base64 accepted). */
  PRIVATE_KEY: z.string().optional(),
  /** Path to the App's private key file, instead of `PRIVATE_KEY`. */
  PRIVATE_KEY_PATH: z.string().optional(),
  /** The webhook secret set in the App's settings. */
  WEBHOOK_SECRET: z.string().optional(),
  /** The App's OAuth client id (written by the setup page): "Sign in with GitHub" on the board. */
  GITHUB_CLIENT_ID: z.string().optional(),
  /** The App's OAuth client secret (written by the setup page). */
  GITHUB_CLIENT_SECRET: z.string().optional(),
  /** GitHub Enterprise Server host name, when not github.com. */
  GHE_HOST: z.string().optional(),
  /** The scheme GHE_HOST is reached with (Probot's convention). */
  GHE_PROTOCOL: z.enum(["https", "http"]).default("https"),
  /**
   * For local development: a smee-style channel whose deliveries are forwarded to this
   * process's webhook endpoint (signatures checked as for GitHub's own), so GitHub need not
   * reach your machine.
   */
  WEBHOOK_PROXY_URL: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), "must be an http(s) URL")
    .optional(),
  /** Register the App under this organisation (the setup page's button), not under your account. */
  GH_ORG: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub organisation login")
    .optional(),
  /** GitHub's REST API base URL (default: api.github.com, or GHE_HOST's /api/v3). */
  GITHUB_API_URL: z.string().url().optional(),
  /** Where repositories are cloned from: `{base}/{owner}/{repo}.git` (default: https://github.com or GHE_HOST). */
  CLONE_BASE_URL: z.string().url().optional(),
  /** Folder for job workspaces (one fresh folder per run, removed afterwards). */
  WORKSPACE_ROOT: z.string().optional(),
  /** Log level: trace, debug, info, warn, error, fatal, silent. */
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** `pretty` for humans, `json` for log shippers (default: json). */
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  /** Bearer token for the dashboard, JSON API and metrics. Unset: served on loopback only. */
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** The public base URL of this server, for links to job pages in status comments. */
  PUBLIC_URL: z.string().url().optional(),
  /** The operator's job-types file. */
  LABELRUN_CONFIG: z.string().default("labelrun.config.yml"),
  /** A stable name for this worker process (host/instance); default: host name and pid. */
  WORKER_ID: z.string().optional(),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: positiveInt.default(2),
  /** Running jobs allowed per installation across all workers (a job type can lower it). */
  INSTALLATION_CONCURRENCY: positiveInt.default(2),
  /** How long a claim holds without a heartbeat before the worker counts as lost. */
  LEASE_SECONDS: seconds.default(60),
  /** How often a worker renews its lease while its agent runs. */
  HEARTBEAT_SECONDS: seconds.default(10),
  /** How often an idle worker polls for queued jobs when no notification arrives. */
  POLL_INTERVAL_SECONDS: seconds.default(5),
  /** On SIGTERM, how long running agents may finish before they are stopped and handed back. */
  SHUTDOWN_GRACE_SECONDS: seconds.default(30),
  /**
   * On SIGTERM, how long the web process answers `/readyz` 503 ("draining") while it still
   * serves, so a load balancer stops sending before connections close. Default: 5 for the
   * Procfile's `web`, 0 for `npm start`.
   */
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).max(300).optional(),
  /**
   * When the worker runs as root: the host user id agents run as (never root, never the
   * worker's). Give it a uid no other process uses. Ignored when the worker is not root.
   */
  SANDBOX_UID: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31)
    .default(65534),
  /** The host group id agents run as when the worker runs as root. */
  SANDBOX_GID: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31)
    .default(65534),
  /** Keep a failed job's workspace on disk for debugging. */
  KEEP_FAILED_WORKSPACES: flag,
  /**
   * How long a new target's first status comment waits while its job is active (0: at once, at
   * most 60). A job that ends sooner is told in one write, its outcome; a longer one's first write
   * already shows it running. Either way one rate-limited request less per job.
   */
  FIRST_COMMENT_DELAY_SECONDS: z.coerce.number().min(0).max(60).default(5),
  /** Interval of the two maintenance loops (job sweeps, GitHub sweeps). */
  MAINTENANCE_INTERVAL_SECONDS: seconds.default(30),
  /** Time limit of a job type that sets no `timeout_minutes`. */
  DEFAULT_TIMEOUT_MINUTES: z.coerce.number().positive().default(45),
  /** A running job past its time limit plus this grace is failed with TIMEOUT by the sweep. */
  TIMEOUT_GRACE_SECONDS: seconds.default(60),
  /** Rows each sweep moves per tick at most. */
  SWEEP_BATCH_SIZE: positiveInt.default(100),
  /** A pending job older than this was left behind by its dispatcher and is dispatched again. */
  STALE_PENDING_SECONDS: seconds.default(15),
  /** A held job (approval, answer, paused, blocked) waiting longer than this is abandoned. */
  MAX_HOLD_DAYS: z.coerce.number().positive().default(14),
  /** Logs and events of jobs finished longer ago than this are deleted (job rows are kept). */
  LOG_RETENTION_DAYS: z.coerce.number().positive().default(30),
  /** Ask GitHub to redeliver webhook deliveries that failed (needs App credentials). */
  REDELIVER_FAILED_DELIVERIES: z
    .enum(["true", "false", "1", "0"])
    .default("true")
    .transform((v) => v === "true" || v === "1"),
  /** Metrics without the admin token. */
  METRICS_PUBLIC: flag,
});

export type RawEnv = z.infer<typeof envSchema>;

export interface GitHubAppCredentials {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  baseUrl: string;
}

export interface Env extends Omit<RawEnv, "HOST"> {
  /** Where the HTTP server listens (see `HOST`). */
  HOST: string;
  /** The GitHub App's credentials, or null when any is missing (setup mode). */
  github: GitHubAppCredentials | null;
  /** What is missing for the GitHub App to work, in words. */
  githubMissing: string[];
}

/** Raised with every problem of the environment at once. */
export class EnvError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the environment is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
    this.problems = problems;
  }
}

/** Parses, defaults and freezes the environment, listing every problem at once. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env, readFile = readKeyFile, cwd = process.cwd()): Env {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const raw = parsed.data;
  const problems: string[] = [];
  // Every form Probot accepts (@probot/get-private-key): PEM with real or `\n` newlines, on one
  // line, base64; or a file (PRIVATE_KEY_PATH); or the one `*.pem` file in the working folder.
  let privateKey: string | undefined;
  if (raw.PRIVATE_KEY) {
    try {
      privateKey = getPrivateKey({ env: { PRIVATE_KEY: raw.PRIVATE_KEY } }) ?? undefined;
    } catch {
      problems.push("PRIVATE_KEY: is not a PEM private key (expected -----BEGIN … PRIVATE KEY-----)");
    }
  } else if (raw.PRIVATE_KEY_PATH) {
    try {
      privateKey = readFile(raw.PRIVATE_KEY_PATH);
    } catch (error) {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${raw.PRIVATE_KEY_PATH} (${coerceError(error).message})`);
    }
  } else {
    try {
      privateKey = getPrivateKey({ env: {}, cwd }) ?? undefined;
    } catch (error) {
      problems.push(`PRIVATE_KEY_PATH: ${coerceError(error).message.replace(/^\[@probot\/get-private-key\]\s*/, "")}`);
    }
  }
  if (privateKey && !privateKey.includes("PRIVATE KEY-----")) {
    problems.push("PRIVATE_KEY: is not a PEM private key (expected -----BEGIN … PRIVATE KEY-----)");
  }
  if (problems.length) throw new EnvError(problems);

  const githubMissing: string[] = [];
  if (!raw.APP_ID) githubMissing.push("APP_ID");
  if (!privateKey) githubMissing.push("PRIVATE_KEY or PRIVATE_KEY_PATH");
  if (!raw.WEBHOOK_SECRET) githubMissing.push("WEBHOOK_SECRET");
  const github =
    raw.APP_ID && privateKey && raw.WEBHOOK_SECRET
      ? {
          appId: raw.APP_ID,
          privateKey,
          webhookSecret: raw.WEBHOOK_SECRET,
          baseUrl: githubApiBaseUrl(raw),
        }
      : null;
  const HOST = raw.HOST ?? (raw.ADMIN_TOKEN ? "0.0.0.0" : "127.0.0.1");
  return Object.freeze({ ...raw, HOST, github, githubMissing });
}

/** GitHub's REST API base URL: GITHUB_API_URL, else GHE_HOST's `/api/v3`, else api.github.com. */
export function githubApiBaseUrl(raw: Pick<RawEnv, "GITHUB_API_URL" | "GHE_HOST" | "GHE_PROTOCOL">): string {
  return (
    raw.GITHUB_API_URL ?? (raw.GHE_HOST ? `${raw.GHE_PROTOCOL}://${raw.GHE_HOST}/api/v3` : "https://api.github.com")
  );
}

/** GitHub's web origin (where people sign in and register Apps): GHE_HOST, else github.com. */
export function githubWebOrigin(raw: Pick<RawEnv, "GHE_HOST" | "GHE_PROTOCOL">): string {
  return raw.GHE_HOST ? `${raw.GHE_PROTOCOL}://${raw.GHE_HOST}` : "https://github.com";
}

function readKeyFile(path: string): string {
  return readFileSync(path, "utf8");
}

/** Accepts a PEM with real newlines, with `\n` escapes, or base64-encoded. */
export function normalizePrivateKey(value: string): string {
  if (value.includes("-----BEGIN")) return value.replace(/\\n/g, "\n");
  const decoded = Buffer.from(value, "base64").toString("utf8");
  return decoded.includes("-----BEGIN") ? decoded : value;
}
