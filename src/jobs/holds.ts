import { sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { amendJob } from "./amend-job.js";
import { getJob } from "./find-jobs.js";
import type { JobHold } from "./states.js";
import { transitionJob } from "./transition-job.js";

/** An answer to the agent's question: the next run's context carries it. */
export interface Answer {
  by: string;
  body: string;
  at: string;
}

export type HoldResult = { ok: true; job: JobRow } | { ok: false; job: JobRow | null; reason: string };

interface HoldChange {
  job: JobRow;
  actor: string;
  at: Date;
  message?: string | null;
}

/**
 * Puts a hold on a waiting job: `pending` and `deferred` jobs keep their
 * state, a `queued` one goes back to `deferred` (through the lifecycle). A
 * compare-and-set on (status, hold) plus a timeline event, in one transaction.
 */
export async function placeHold(
  db: Database,
  change: HoldChange & { hold: JobHold /** Why, in words, when the hold needs them (a quota). */; reason?: string },
): Promise<HoldResult> {
  const { job, hold, actor, at } = change;
  if (job.hold) return { ok: false, job, reason: `it is already held (${job.hold.replace(/_/g, " ")})` };
  if (job.status === "queued") {
    const result = await transitionJob(db, {
      jobId: job.id,
      from: "queued",
      to: "deferred",
      at,
      actor,
      message: change.message ?? null,
      patch: { hold, runAfter: null, holdReason: change.reason ?? null },
    });
    return result.ok ? { ok: true, job: result.job } : { ok: false, job: result.job, reason: "it moved meanwhile" };
  }
  if (job.status !== "pending" && job.status !== "deferred") {
    return { ok: false, job, reason: `a ${job.status} job cannot be held` };
  }
  return writeHold(db, { ...change, expect: null, hold, code: "HELD" });
}

/**
 * Lifts a hold (approval given, question answered, resumed, blocker done).
 * A deferred job becomes due at once, so the sweep queues it; a pending one
 * is dispatched by the caller.
 */
export async function liftHold(
  db: Database,
  change: HoldChange & { expect: JobHold; approvedBy?: string; answer?: Answer; quotaWaivedBy?: string },
): Promise<HoldResult> {
  if (change.job.hold !== change.expect) {
    return {
      ok: false,
      job: change.job,
      reason: change.job.hold
        ? `it waits for something else (${change.job.hold.replace(/_/g, " ")})`
        : "it is not held",
    };
  }
  return writeHold(db, { ...change, hold: null, code: "HOLD_LIFTED" });
}

async function writeHold(
  db: Database,
  change: HoldChange & {
    expect: JobHold | null;
    hold: JobHold | null;
    code: string;
    approvedBy?: string;
    answer?: Answer;
    reason?: string;
    quotaWaivedBy?: string;
  },
): Promise<HoldResult> {
  const { job, at } = change;
  const updated = await amendJob(db, {
    jobId: job.id,
    status: job.status,
    hold: change.expect,
    set: {
      hold: change.hold,
      holdReason: change.hold ? (change.reason ?? null) : null,
      ...(change.hold === null && job.status === "deferred" ? { runAfter: at } : {}),
      ...(change.quotaWaivedBy ? { quotaWaivedBy: change.quotaWaivedBy } : {}),
      ...(change.approvedBy ? { approvedBy: change.approvedBy } : {}),
      // The answer to the agent's question is recorded with the hold it lifts.
      ...(change.answer
        ? { answers: sql`coalesce(${jobs.answers}, '[]'::jsonb) || ${JSON.stringify([change.answer])}::jsonb` }
        : {}),
    },
    at,
    actor: change.actor,
    code: change.code,
    message:
      change.message ??
      (change.hold ? `held: ${change.hold.replace(/_/g, " ")}` : `${change.expect?.replace(/_/g, " ")} lifted`),
  });
  if (updated) return { ok: true, job: updated };
  return { ok: false, job: (await getJob(db, job.id)) ?? null, reason: "it changed meanwhile" };
}

/** Marks a running job so that, if this run does not complete, it is held (paused) instead of retried. */
export async function requestPause(db: Database, job: JobRow, at: Date, actor: string): Promise<boolean> {
  const updated = await amendJob(db, {
    jobId: job.id,
    status: "running",
    claim: { workerId: job.workerId ?? "", attempt: job.attempt },
    set: { pauseRequested: true },
    at,
    actor,
    code: "PAUSE_REQUESTED",
    message: "held when this run ends, unless it completes",
  });
  return updated !== null;
}

/**
 * Moves a deferred job's `run_after` (it stays deferred; not a transition):
 * a re-dispatch that met the rate limit again.
 */
export async function postponeDeferred(
  db: Database,
  change: { job: JobRow; runAfter: Date; code: "RATE_LIMITED"; message: string; actor: string; at: Date },
): Promise<boolean> {
  const updated = await amendJob(db, {
    jobId: change.job.id,
    status: "deferred",
    set: { runAfter: change.runAfter, failureCode: change.code, failureMessage: change.message },
    at: change.at,
    actor: change.actor,
    code: change.code,
    message: change.message,
    data: { runAfter: change.runAfter.toISOString() },
  });
  return updated !== null;
}
