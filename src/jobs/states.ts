/**
 * The job lifecycle as data. Everything else (the Postgres enum, the TypeScript
 * union, the store's compare-and-set) is derived from these lists, so the
 * transition table lives in exactly one place. Pure: no I/O.
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

/** The allowed moves. A pair that is not listed here is refused. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = Object.freeze({
  pending: ["queued", "deferred", "failed", "cancelled", "abandoned"],
  queued: ["running", "deferred", "cancelled", "abandoned"],
  running: ["completed", "failed", "deferred", "cancelled", "abandoned"],
  deferred: ["queued", "cancelled", "abandoned"],
  completed: [],
  failed: [],
  abandoned: [],
  cancelled: [],
});

/**
 * How a job comes into being: normally `pending`; a duplicate trigger while
 * another job for the same target and job type is active is recorded as
 * `cancelled` straight away (it never competes for the active slot).
 */
export const CREATION_STATES: readonly JobState[] = Object.freeze(["pending", "cancelled"]);

/**
 * Why a waiting (`pending` or `deferred`) job waits for a person or another
 * job. Time alone never lifts a hold; only the matching event does.
 */
export const JOB_HOLDS = Object.freeze(["awaiting_approval", "awaiting_input", "blocked_by", "paused"] as const);
export type JobHold = (typeof JOB_HOLDS)[number];

/** States on which a hold may sit. */
export const HOLDABLE_STATES: readonly JobState[] = Object.freeze(["pending", "deferred"]);

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
] as const);
export type FailureCode = (typeof FAILURE_CODES)[number];

/** Kinds of GitHub targets a job can run on. */
export const TARGET_KINDS = Object.freeze(["issue", "pull_request"] as const);
export type TargetKind = (typeof TARGET_KINDS)[number];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Thrown when code asks for a move the transition table does not allow. */
export class IllegalTransitionError extends Error {
  readonly from: JobState;
  readonly to: JobState;
  constructor(from: JobState, to: JobState) {
    super(
      `a job cannot move from ${from} to ${to}; allowed from ${from}: ${TRANSITIONS[from].join(", ") || "nothing (terminal)"}`,
    );
    this.name = "IllegalTransitionError";
    this.from = from;
    this.to = to;
  }
}

export function assertTransition(from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
