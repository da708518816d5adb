import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { RepoConfig } from "../config/repo-config.js";
import { ACTIVE_STATES, FAILURE_CODES, JOB_HOLDS, JOB_STATES, TARGET_KINDS } from "./lifecycle.js";

export const jobStatus = pgEnum("job_status", JOB_STATES);
export const jobHold = pgEnum("job_hold", JOB_HOLDS);
export const failureCode = pgEnum("failure_code", FAILURE_CODES);
export const targetKind = pgEnum("target_kind", TARGET_KINDS);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** The partial-index predicate "the job is still active", spelled once. */
const activePredicate = sql.raw(`status in (${ACTIVE_STATES.map((state) => `'${state}'`).join(", ")})`);

export const installations = pgTable("installations", {
  /** GitHub's installation id. */
  id: bigint("id", { mode: "number" }).primaryKey(),
  accountLogin: text("account_login").notNull(),
  accountType: text("account_type").notNull().default("User"),
  suspendedAt: at("suspended_at"),
  deletedAt: at("deleted_at"),
  createdAt: at("created_at").notNull(),
  updatedAt: at("updated_at").notNull(),
  /**
   * Its running jobs, in all and per job type: kept exact by the trigger
   * `jobs_count_running` (migration 0017) on every move into or out of
   * `running`, so a claim checks the limits in O(1) under this row's lock.
   */
  runningCount: integer("running_count").notNull().default(0),
  runningByType: jsonb("running_by_type").$type<Record<string, number>>().notNull().default({}),
});

export const jobs = pgTable(
  "jobs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    installationId: bigint("installation_id", { mode: "number" })
      .notNull()
      .references(() => installations.id),
    repositoryId: bigint("repository_id", { mode: "number" }).notNull(),
    repositoryFullName: text("repository_full_name").notNull(),
    targetNumber: integer("target_number").notNull(),
    targetKind: targetKind("target_kind").notNull(),
    targetTitle: text("target_title"),
    targetUrl: text("target_url"),
    jobType: text("job_type").notNull(),
    triggerLabel: text("trigger_label"),
    triggeredBy: text("triggered_by"),
    deliveryId: text("delivery_id"),
    status: jobStatus("status").notNull(),
    hold: jobHold("hold"),
    failureCode: failureCode("failure_code"),
    failureMessage: text("failure_message"),
    /** Runs started for this job (incremented by each claim). */
    attempt: integer("attempt").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(3),
    /** The job this one retries (a new trigger after that job ended). */
    retryOf: bigint("retry_of", { mode: "number" }),
    /** Position in the retry chain: 0 for the first job on a target and type. */
    retryNumber: integer("retry_number").notNull().default(0),
    /** For a duplicate trigger: the active job it duplicated. */
    duplicateOf: bigint("duplicate_of", { mode: "number" }),
    /** For a job held `blocked_by`: the job it waits for. */
    blockedBy: bigint("blocked_by", { mode: "number" }),
    runAfter: at("run_after"),
    timeoutSeconds: integer("timeout_seconds").notNull().default(2700),
    workerId: text("worker_id"),
    leaseExpiresAt: at("lease_expires_at"),
    heartbeatAt: at("heartbeat_at"),
    deadlineAt: at("deadline_at"),
    progress: smallint("progress"),
    progressMessage: text("progress_message"),
    costUsd: numeric("cost_usd", { precision: 12, scale: 6, mode: "number" }),
    inputTokens: bigint("input_tokens", { mode: "number" }),
    outputTokens: bigint("output_tokens", { mode: "number" }),
    resultUrl: text("result_url"),
    resultSummary: text("result_summary"),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
    queuedAt: at("queued_at"),
    startedAt: at("started_at"),
    finishedAt: at("finished_at"),
    /** `pause` on a running job: if this run does not complete, the job is held instead of retried. */
    pauseRequested: boolean("pause_requested").notNull().default(false),
    /** The agent's open question (needs_input), the comment that asked it, and when. */
    question: text("question"),
    questionCommentId: bigint("question_comment_id", { mode: "number" }),
    questionAskedAt: at("question_asked_at"),
    /** Answers given to the agent's questions, oldest first: { by, body, at }. */
    answers: jsonb("answers").$type<Array<{ by: string; body: string; at: string }>>(),
    /** Who approved the job through the approval gate (`/labelrun approve`). */
    approvedBy: text("approved_by"),
    /** A follow-up job's parent (e.g. the implement job whose pull request this review is on). */
    parentJobId: bigint("parent_job_id", { mode: "number" }),
    /** A review round (`on_review`): its number, counted per job that opened the pull request (its parent). */
    reviewRound: integer("review_round"),
    /** What started the round: the review (or `/labelrun revise` comment) and what was asked. */
    review: jsonb("review").$type<ReviewTrigger>(),
    /** When the trigger's webhook showed the issue/PR open (its `updated_at`): dispatch trusts it for a minute. */
    targetOpenAt: at("target_open_at"),
    /**
     * The issue/PR as the trigger's webhook showed it (title, body, labels, author; a pull
     * request's head and base): the worker's context when the job starts soon after, instead of
     * reading it from GitHub again. Cleared when the job ends.
     */
    targetSnapshot: jsonb("target_snapshot").$type<TargetSnapshot>(),
    /** Why a held job waits, in words, when its hold needs them (the quota it met, what is spent, when it resets). */
    holdReason: text("hold_reason"),
    /** The admin whose `/labelrun approve` let this job past a spent quota. */
    quotaWaivedBy: text("quota_waived_by"),
    /** When a completed round's summary was posted in the review threads it answered (the proof, once). */
    threadsAnsweredAt: at("threads_answered_at"),
    /** For a job on a pull request: the commit its check run is on (the head when it was triggered). */
    checkHeadSha: text("check_head_sha"),
    /** The job's check run, and the state last written to it (status/conclusion), so a sync writes only changes. */
    checkRunId: bigint("check_run_id", { mode: "number" }),
    checkRunState: text("check_run_state"),
    /** For a job whose result is a pull request: its state as last seen (open, merged, closed). */
    resultPrState: text("result_pr_state"),
    /** When the retention sweep removed this job's logs and events (the row itself is kept). */
    prunedAt: at("pruned_at"),
    /**
     * Reactions (label removal, question, follow-up, blocked jobs) are due while
     * `reaction_version > reacted_version`: recordChange raises the first in the
     * change's transaction, a reactor sets the second to the version it acted on.
     */
    reactionVersion: integer("reaction_version").notNull().default(0),
    reactedVersion: integer("reacted_version").notNull().default(0),
    /** Who is carrying out the reactions right now, until when (one reactor at a time). */
    reactionLockedUntil: at("reaction_locked_until"),
  },
  (t) => [
    // Settles the duplicate-trigger race: at most one active job per target and job type.
    uniqueIndex("jobs_one_active_per_target").on(t.repositoryId, t.targetNumber, t.jobType).where(activePredicate),
    // Settles redelivery: the same GitHub delivery never records two jobs.
    uniqueIndex("jobs_delivery_id").on(t.deliveryId).where(sql`delivery_id is not null`),
    index("jobs_by_target").on(t.repositoryId, t.targetNumber, t.id),
    index("jobs_by_status_keyset").on(t.status, t.id),
    // The board's and API's repository filter, newest first.
    index("jobs_by_repository").on(t.repositoryFullName, t.id),
    // claimNextJob: oldest queued job per installation.
    index("jobs_queued_for_claim").on(t.installationId, t.queuedAt, t.id).where(sql`status = 'queued'`),
    // claimNextJob: the oldest claimable job of all.
    index("jobs_queued_in_order").on(t.queuedAt, t.id).where(sql`status = 'queued' and hold is null`),
    // Waiting reasons: the running jobs of an installation.
    index("jobs_running_by_installation").on(t.installationId, t.jobType).where(sql`status = 'running'`),
    // Sweep: running past their deadline.
    index("jobs_running_deadline").on(t.deadlineAt).where(sql`status = 'running'`),
    // Sweep: running with an expired lease (lost worker).
    index("jobs_running_lease").on(t.leaseExpiresAt).where(sql`status = 'running'`),
    // Sweep: deferred jobs that are due and not held.
    index("jobs_deferred_due").on(t.runAfter).where(sql`status = 'deferred' and hold is null`),
    // Sweep: held jobs that waited too long.
    index("jobs_held_since").on(t.updatedAt).where(sql`hold is not null`),
    // Sweep: pending jobs the dispatcher left behind.
    index("jobs_pending_since").on(t.createdAt).where(sql`status = 'pending' and hold is null`),
    // Following result pull requests: the jobs whose result is a given PR.
    index("jobs_by_result_url").on(t.resultUrl).where(sql`result_url is not null`),
    // Releasing or cancelling jobs held by another job.
    index("jobs_blocked_by").on(t.blockedBy).where(sql`blocked_by is not null`),
    // Retention sweep: finished jobs by age whose logs are still there.
    index("jobs_finished_unpruned").on(t.finishedAt).where(sql`finished_at is not null and pruned_at is null`),
    // The board's Awaiting review column: completed jobs whose pull request is still open.
    index("jobs_awaiting_review")
      .on(t.id)
      .where(
        sql`status = 'completed' and coalesce(result_pr_state, 'open') = 'open' and result_url ~ '^https://[^/]+/[^/]+/[^/]+/pull/[0-9]+/?$' and lower(split_part(result_url, '/', 4) || '/' || split_part(result_url, '/', 5)) = lower(repository_full_name)`,
      ),
    // Check run Re-run: the job a check run belongs to.
    index("jobs_by_check_run").on(t.checkRunId).where(sql`check_run_id is not null`),
    // Insight pages: the jobs that ended in a window of days.
    index("jobs_by_finished_at").on(t.finishedAt).where(sql`finished_at is not null`),
    // Reactions sweep: jobs whose reactions are behind their changes.
    index("jobs_reactions_due").on(t.updatedAt).where(sql`reaction_version > reacted_version`),
  ],
);

export const jobEvents = pgTable(
  "job_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: bigint("job_id", { mode: "number" })
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    fromStatus: jobStatus("from_status"),
    toStatus: jobStatus("to_status").notNull(),
    code: text("code"),
    message: text("message"),
    actor: text("actor").notNull(),
    at: at("at").notNull(),
    data: jsonb("data"),
  },
  (t) => [index("job_events_by_job").on(t.jobId, t.id)],
);

export const jobLogs = pgTable(
  "job_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: bigint("job_id", { mode: "number" })
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    seq: integer("seq").notNull(),
    stream: text("stream").notNull(),
    line: text("line").notNull(),
    at: at("at").notNull(),
  },
  (t) => [index("job_logs_by_job").on(t.jobId, t.seq)],
);

export const statusComments = pgTable(
  "status_comments",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    repositoryId: bigint("repository_id", { mode: "number" }).notNull(),
    repositoryFullName: text("repository_full_name").notNull(),
    targetNumber: integer("target_number").notNull(),
    /** GitHub's comment id, once the comment exists. */
    commentId: bigint("comment_id", { mode: "number" }),
    /** The body GitHub shows now (what was last written successfully). */
    renderedBody: text("rendered_body"),
    /** Set when the comment must be (re)written; cleared by a successful write. */
    dirtySince: at("dirty_since"),
    /**
     * Raised by every change to a job on this target, in the change's
     * transaction; `synced_version` is the version the comment on GitHub was
     * rendered at. Behind while `version > synced_version`.
     */
    version: bigint("version", { mode: "number" }).notNull().default(0),
    syncedVersion: bigint("synced_version", { mode: "number" }).notNull().default(0),
    lastError: text("last_error"),
    /** Who is writing the comment right now, and until when (settles concurrent creates). */
    lockedBy: text("locked_by"),
    lockedUntil: at("locked_until"),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("status_comments_target").on(t.repositoryId, t.targetNumber),
    index("status_comments_dirty").on(t.dirtySince).where(sql`dirty_since is not null`),
  ],
);

/**
 * What labelrun last read of a repository's `.github/labelrun.yml`, so the
 * webhook handler can tell a trigger label without calling GitHub.
 */
export const repositoryConfigs = pgTable("repository_configs", {
  repositoryId: bigint("repository_id", { mode: "number" }).primaryKey(),
  repositoryFullName: text("repository_full_name").notNull(),
  /** Label → job type, as the file says (or the defaults when there is no file). */
  triggers: jsonb("triggers").$type<Record<string, string>>().notNull(),
  enabled: boolean("enabled").notNull().default(true),
  removeLabelWhenDone: boolean("remove_label_when_done").notNull().default(true),
  allowBots: jsonb("allow_bots").$type<string[]>().notNull().default([]),
  /** What is wrong with the file, when it is invalid. */
  problems: jsonb("problems").$type<string[]>(),
  /** The whole validated config, when it is valid: dispatch's answer while the row is fresh. */
  config: jsonb("config").$type<RepoConfig>(),
  fetchedAt: at("fetched_at").notNull(),
});

/** Small named values the maintenance loop keeps between ticks (e.g. the redelivery cursor). */
export const maintenanceState = pgTable("maintenance_state", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: at("updated_at").notNull(),
});

/** Failed webhook deliveries labelrun asked GitHub to redeliver: each is asked once. */
export const redeliveries = pgTable("redeliveries", {
  /** GitHub's hook delivery id. */
  deliveryId: bigint("delivery_id", { mode: "number" }).primaryKey(),
  guid: text("guid").notNull(),
  event: text("event").notNull(),
  statusCode: integer("status_code").notNull(),
  askedAt: at("asked_at").notNull(),
  /** What GitHub answered to the redelivery request, when it was not accepted. */
  error: text("error"),
});

/**
 * A `/labelrun …` command found in an issue/PR comment. The comment id is
 * the key, so the same comment delivered twice acts once.
 */
export const commentCommands = pgTable(
  "comment_commands",
  {
    commentId: bigint("comment_id", { mode: "number" }).primaryKey(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    repositoryId: bigint("repository_id", { mode: "number" }).notNull(),
    repositoryFullName: text("repository_full_name").notNull(),
    targetNumber: integer("target_number").notNull(),
    author: text("author").notNull(),
    command: text("command").notNull(),
    jobType: text("job_type"),
    /** What follows the command on its line (`/labelrun revise <what to change>`), cut to 2,000 characters. */
    note: text("note"),
    /** The command was written in a review thread on the diff (a pull request review comment). */
    inThread: boolean("in_thread").notNull().default(false),
    /** received → running (claimed) → done | refused. */
    state: text("state").notNull().default("received"),
    outcome: text("outcome"),
    createdAt: at("created_at").notNull(),
    processedAt: at("processed_at"),
  },
  // The left-commands sweep: commands not carried out to the end.
  (t) => [index("comment_commands_unfinished").on(t.createdAt).where(sql`state in ('received', 'running')`)],
);

/**
 * Worker processes that are online, with the job types they run and why they refuse the others
 * (no sandbox on that machine), so a job that waits can say it waits for a worker able to run it.
 */
export const workers = pgTable("workers", {
  workerId: text("worker_id").primaryKey(),
  host: text("host").notNull(),
  /** Job types this worker claims. */
  runs: jsonb("runs").$type<string[]>().notNull(),
  /** Job type → why this worker does not claim it. */
  refuses: jsonb("refuses").$type<Record<string, string>>().notNull(),
  startedAt: at("started_at").notNull(),
  /** Renewed while the worker runs; one not seen for a minute is taken as gone. */
  seenAt: at("seen_at").notNull(),
});

/**
 * Signed-in dashboard sessions. The cookie holds a random secret; only its
 * SHA-256 is stored. A session ends when it expires, when its owner signs
 * out (revoked here, for every process), or when ADMIN_TOKEN changes (the
 * token's fingerprint no longer matches).
 */
export const adminSessions = pgTable("admin_sessions", {
  secretHash: text("secret_hash").primaryKey(),
  /** HMAC of the ADMIN_TOKEN the session was opened with. */
  tokenFingerprint: text("token_fingerprint").notNull(),
  /** The session's CSRF token, shown in its pages and required on its state-changing requests. */
  csrf: text("csrf").notNull(),
  /** A person signed in with GitHub (null: the admin token): their login, and the installations they could see then. */
  login: text("login"),
  installationIds: jsonb("installation_ids").$type<number[]>(),
  createdAt: at("created_at").notNull(),
  expiresAt: at("expires_at").notNull(),
  revokedAt: at("revoked_at"),
});

/**
 * Insight rollups: one UTC day of finished jobs, summed once the day is over (the
 * `insights` sweep), so the insight pages read a few rows per day instead of every job.
 * Outcomes per installation, job type, status and failure code ('' for none).
 */
export const jobDayOutcomes = pgTable(
  "job_day_outcomes",
  {
    day: date("day", { mode: "string" }).notNull(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    jobType: text("job_type").notNull(),
    status: jobStatus("status").notNull(),
    failureCode: text("failure_code").notNull(),
    /** Jobs that ran or were meant to (duplicate triggers are counted apart). */
    jobs: integer("jobs").notNull(),
    duplicates: integer("duplicates").notNull(),
    costUsd: numeric("cost_usd", { precision: 14, scale: 6, mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.installationId, t.jobType, t.status, t.failureCode] })],
);

/** Jobs per repository and day (duplicates left out), for the busiest repositories. */
export const jobDayRepositories = pgTable(
  "job_day_repositories",
  {
    day: date("day", { mode: "string" }).notNull(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    repositoryFullName: text("repository_full_name").notNull(),
    jobs: integer("jobs").notNull(),
    completed: integer("completed").notNull(),
    failed: integer("failed").notNull(),
    costUsd: numeric("cost_usd", { precision: 14, scale: 6, mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.installationId, t.repositoryFullName] })],
);

/** How long runs took and jobs waited, as counts in 10 % wide buckets (the percentiles' source). */
export const jobDayDurations = pgTable(
  "job_day_durations",
  {
    day: date("day", { mode: "string" }).notNull(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    jobType: text("job_type").notNull(),
    /** `run`: started → finished; `wait`: queued → started. */
    kind: text("kind").notNull(),
    bucket: smallint("bucket").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.installationId, t.jobType, t.kind, t.bucket] })],
);

/** The days already rolled up; they are rolled up in order, so the newest one is the frontier. */
export const jobRollupDays = pgTable("job_rollup_days", {
  day: date("day", { mode: "string" }).primaryKey(),
  rolledAt: at("rolled_at").notNull(),
});

/** An issue/PR as the worker's agent reads it (`TargetDetails`), and as a trigger's webhook showed it. */
export interface TargetSnapshot {
  title: string;
  body: string;
  url: string;
  state: "open" | "closed";
  labels: string[];
  author: string | null;
  /** For a pull request: the head branch and commit. */
  head?: { ref: string; sha: string };
  /** For a pull request: the branch it merges into. */
  base?: { ref: string; sha: string };
}

/** What started a review round: a review with changes requested, or a `/labelrun revise` comment. */
export interface ReviewTrigger {
  /** The review's id, when a review started it. */
  reviewId: number | null;
  /** The comment's id, when a `/labelrun revise` comment started it (in a review thread or the conversation). */
  commentId: number | null;
  /** True when the comment is a review comment (in a thread on the diff). */
  inThread: boolean;
  author: string;
  state: string;
  body: string;
}

export type InstallationRow = typeof installations.$inferSelect;
export type WorkerRow = typeof workers.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type NewJobRow = typeof jobs.$inferInsert;
export type JobEventRow = typeof jobEvents.$inferSelect;
export type JobLogRow = typeof jobLogs.$inferSelect;
export type StatusCommentRow = typeof statusComments.$inferSelect;
export type RepositoryConfigRow = typeof repositoryConfigs.$inferSelect;
