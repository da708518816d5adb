/**
 * The lifecycle's vocabulary as data: the states, holds, failure codes and
 * target kinds the database's enums are made of. It sits below the product,
 * so storage does not import it; src/jobs/states.ts builds the rules on it.
 */

/** Job states, ordered by lifecycle. */
export const JOB_STATES = Object.freeze([
  "pending",
  "queued",
  "running",
  "deferred",
  "completed",
  "failed",
  "abandoned",
  "cancelled",
] as const);
export type JobState = (typeof JOB_STATES)[number];

/** A terminal job never moves again; a retry is a new job pointing at it. */
export const TERMINAL_STATES: readonly JobState[] = Object.freeze(["completed", "failed", "abandoned", "cancelled"]);

/** States that count as "active" for the one-active-job-per-target rule. */
export const ACTIVE_STATES: readonly JobState[] = Object.freeze(
  JOB_STATES.filter((state) => !TERMINAL_STATES.includes(state)),
);

/**
 * Why a waiting (`pending` or `deferred`) job waits for a person or another
 * job. Time alone never lifts a hold; only the matching event does.
 */
export const JOB_HOLDS = Object.freeze([
  "awaiting_approval",
  "awaiting_input",
  "blocked_by",
  "paused",
  /** A monthly quota is spent: lifted when the month turns or the quota is raised, or by an admin's approve. */
  "quota_reached",
] as const);
export type JobHold = (typeof JOB_HOLDS)[number];

/** The closed set of codes a job that did not complete can carry. */
export const FAILURE_CODES = Object.freeze([
  "TIMEOUT",
  "API_ERROR",
  "BUDGET_EXCEEDED",
  "GIT_CLONE_FAILED",
  "VALIDATION_ERROR",
  "NO_OUTPUT",
  "AGENT_ERROR",
  "WORKER_LOST",
  "MAX_ATTEMPTS",
  "ACCESS_REVOKED",
  "DUPLICATE",
  "CANCELLED",
  "RATE_LIMITED",
  /** Held (approval, input, paused, blocked) longer than MAX_HOLD_DAYS. */
  "HOLD_EXPIRED",
  /** The repository is in `dry_run`: the job was recorded and shown, no agent started. */
  "DRY_RUN",
] as const);
export type FailureCode = (typeof FAILURE_CODES)[number];

/** Kinds of GitHub targets a job can run on. */
export const TARGET_KINDS = Object.freeze(["issue", "pull_request"] as const);
export type TargetKind = (typeof TARGET_KINDS)[number];
