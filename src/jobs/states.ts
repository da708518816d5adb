import { type JobState, TERMINAL_STATES } from "../db/lifecycle.js";

export * from "../db/lifecycle.js";

/**
 * The job lifecycle's rules, on its vocabulary (src/db/lifecycle.ts, from
 * which the Postgres enums and the TypeScript unions are derived): the
 * transition table lives in exactly one place. Pure: no I/O.
 */

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

/** States on which a hold may sit. */
export const HOLDABLE_STATES: readonly JobState[] = Object.freeze(["pending", "deferred"]);

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
