import { backoffDelayMs } from "./backoff.js";
import type { FailureCode, JobHold } from "./states.js";

/**
 * How runs and waits end: the one place that decides. Pure (no I/O, the
 * clock and jitter come in), so every row of the table is a test. The worker,
 * the sweeps and the dispatcher call it; none decides on its own.
 *
 * "Attempts spent" has one meaning everywhere: `attempt >= maxAttempts`,
 * where `attempt` counts the runs that counted. A run that ended through no
 * fault of the job (a graceful shutdown of its worker, a rate limit met
 * before the agent started, a question to a person) gives its attempt back,
 * so no later decision can count it.
 */

/** How one run ended, as the worker (or the sweep, for a worker that vanished) saw it. */
export type RunEnd =
  | { kind: "completed" }
  | { kind: "failed"; code: FailureCode; message: string }
  /** The agent or GitHub asked for later: a transient error, the agent's own "try again". */
  | { kind: "retry"; code: FailureCode; message: string; retryAfterMs: number | null }
  /** GitHub's primary or secondary rate limit, until `retryAt`: not the job's fault. */
  | { kind: "rate_limited"; message: string; retryAt: Date }
  /** The agent asked a person a question. */
  | { kind: "needs_input"; question: string }
  /** The worker stopped on purpose (SIGTERM, deploy) and hands the job back. */
  | { kind: "shutdown"; message: string }
  /** The worker vanished (lease expired, restarted): the run counted. */
  | { kind: "worker_lost"; message: string };

export interface RunState {
  attempt: number;
  maxAttempts: number;
  /** Read in the same compare-and-set that records the settlement. */
  pauseRequested: boolean;
}

/** Where a run goes, and what is written with it. */
export interface Settlement {
  to: "queued" | "completed" | "failed" | "deferred" | "abandoned";
  code: FailureCode | null;
  message: string | null;
  /** Columns written with the move (hold, run_after, attempt given back, pause flag cleared). */
  patch: {
    hold?: JobHold | null;
    runAfter?: Date | null;
    attempt?: number;
    pauseRequested?: boolean;
    question?: string | null;
    questionAskedAt?: Date | null;
    questionCommentId?: number | null;
  };
}

/** A job handed back by a stopping worker is due this much later: another worker, not the stopping one, takes it. */
export const HAND_BACK_DELAY_MS = 5_000;

export const spent = (job: { attempt: number; maxAttempts: number }) => job.attempt >= job.maxAttempts;

/** How a run ends. */
export function settleRun(state: RunState, end: RunEnd, now: Date, random: () => number = Math.random): Settlement {
  const given = Math.max(0, state.attempt - 1);
  switch (end.kind) {
    case "completed":
      return { to: "completed", code: null, message: null, patch: { pauseRequested: false } };
    case "failed":
      // Access is gone: nothing more can be done on this installation.
      if (end.code === "ACCESS_REVOKED") return { to: "abandoned", code: end.code, message: end.message, patch: {} };
      return { to: "failed", code: end.code, message: end.message, patch: { pauseRequested: false } };
    case "needs_input":
      return {
        to: "deferred",
        code: null,
        message: "waits for an answer to its question",
        patch: {
          hold: "awaiting_input",
          question: end.question,
          questionAskedAt: now,
          questionCommentId: null,
          attempt: given,
          runAfter: null,
          pauseRequested: false,
        },
      };
    case "shutdown":
    case "rate_limited": {
      const code: FailureCode = end.kind === "shutdown" ? "WORKER_LOST" : "RATE_LIMITED";
      if (state.pauseRequested) return pausedInstead(code, end.message, { attempt: given });
      const runAfter = end.kind === "shutdown" ? new Date(now.getTime() + HAND_BACK_DELAY_MS) : end.retryAt;
      return { to: "deferred", code, message: end.message, patch: { attempt: given, runAfter } };
    }
    case "retry":
    case "worker_lost": {
      const code: FailureCode = end.kind === "worker_lost" ? "WORKER_LOST" : end.code;
      if (state.pauseRequested) return pausedInstead(code, end.message, {});
      if (spent(state)) {
        return {
          to: "abandoned",
          code: "MAX_ATTEMPTS",
          message: `gave up after ${state.attempt} attempts; the last one: ${end.message}`,
          patch: {},
        };
      }
      const delay = end.kind === "retry" ? (end.retryAfterMs ?? backoffDelayMs(state.attempt, random)) : 0;
      return {
        to: "deferred",
        code,
        message: end.message,
        patch: { runAfter: new Date(now.getTime() + Math.max(0, delay)) },
      };
    }
  }
}

function pausedInstead(code: FailureCode, message: string, patch: Settlement["patch"]): Settlement {
  return {
    to: "deferred",
    code,
    message: `${message}; held because a pause was asked for`,
    patch: { ...patch, hold: "paused", pauseRequested: false, runAfter: null },
  };
}

/** A deferred job that is due: queued again, or abandoned when its attempts are spent. */
export function settleDue(job: {
  attempt: number;
  maxAttempts: number;
  failureCode: FailureCode | null;
  failureMessage: string | null;
}): Settlement {
  if (spent(job)) {
    return {
      to: "abandoned",
      code: "MAX_ATTEMPTS",
      message: `gave up after ${job.attempt} attempts; the last one: ${job.failureMessage ?? job.failureCode ?? "deferred"}`,
      patch: {},
    };
  }
  return { to: "queued", code: null, message: null, patch: {} };
}

/** A hold that lasted longer than the server allows: abandoned with its own code. */
export function settleHoldExpired(job: { hold: JobHold | null }, maxHoldDays: number): Settlement {
  return {
    to: "abandoned",
    code: "HOLD_EXPIRED",
    message: `waited more than ${maxHoldDays} days (${(job.hold ?? "held").replace(/_/g, " ")}); abandoned`,
    patch: {},
  };
}

/** A waiting job whose dispatch met a rate limit: deferred until the reset, no attempt spent (none was). */
export function settleRateLimitedWait(message: string, retryAt: Date): Settlement {
  return {
    to: "deferred",
    code: "RATE_LIMITED",
    message: `GitHub's rate limit: ${message}`,
    patch: { runAfter: retryAt },
  };
}

/** Dispatches of one waiting job that may meet transient trouble (5xx, network) before it fails. */
export const MAX_DISPATCH_TRIES = 10;

/**
 * A dispatch that met transient trouble: the job waits for the next try
 * (null), or, after MAX_DISPATCH_TRIES, fails with what the last one met —
 * a pending job is never re-dispatched forever.
 */
export function settleDispatchTrouble(tries: number, message: string): Settlement | null {
  if (tries < MAX_DISPATCH_TRIES) return null;
  return {
    to: "failed",
    code: "API_ERROR",
    message: `could not be dispatched after ${tries} tries; the last one: ${message}`,
    patch: {},
  };
}

/** A run past its time limit, stopped by the sweep. */
export function settleTimeout(job: { timeoutSeconds: number }): Settlement {
  return {
    to: "failed",
    code: "TIMEOUT",
    message: `ran past its time limit of ${Math.round(job.timeoutSeconds / 60)} minutes; the maintenance sweep stopped it`,
    patch: { pauseRequested: false },
  };
}
