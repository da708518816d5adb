import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { notifyJobChange } from "./notify.js";
import { recordEvent } from "./record-event.js";
import type { JobHold } from "./states.js";
import { transitionJob } from "./transition-job.js";

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
export async function placeHold(db: Database, change: HoldChange & { hold: JobHold }): Promise<HoldResult> {
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
      patch: { hold, runAfter: null },
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
  change: HoldChange & { expect: JobHold; approvedBy?: string },
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
  change: HoldChange & { expect: JobHold | null; hold: JobHold | null; code: string; approvedBy?: string },
): Promise<HoldResult> {
  const { job, at } = change;
  return db.transaction(async (tx) => {
    const [updated] = await tx
      .update(jobs)
      .set({
        hold: change.hold,
        updatedAt: at,
        ...(change.hold === null && job.status === "deferred" ? { runAfter: at } : {}),
        ...(change.approvedBy ? { approvedBy: change.approvedBy } : {}),
      })
      .where(
        and(
          eq(jobs.id, job.id),
          eq(jobs.status, job.status),
          change.expect === null ? isNull(jobs.hold) : eq(jobs.hold, change.expect),
        ),
      )
      .returning();
    if (!updated) {
      const [current] = await tx.select().from(jobs).where(eq(jobs.id, job.id));
      return { ok: false as const, job: current ?? null, reason: "it changed meanwhile" };
    }
    await recordEvent(tx, {
      jobId: job.id,
      from: job.status,
      to: job.status,
      at,
      actor: change.actor,
      code: change.code,
      message:
        change.message ??
        (change.hold ? `held: ${change.hold.replace(/_/g, " ")}` : `${change.expect?.replace(/_/g, " ")} lifted`),
    });
    await notifyJobChange(tx, { id: job.id, status: job.status, installationId: job.installationId });
    return { ok: true as const, job: updated };
  });
}

/** Marks a running job so that, if this run does not complete, it is held (paused) instead of retried. */
export async function requestPause(db: Database, job: JobRow, at: Date): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ pauseRequested: true, updatedAt: at })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, "running"), eq(jobs.attempt, job.attempt)))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/** Records an answer to the agent's question on the job (the next run's context carries it). */
export async function appendAnswer(db: Database, jobId: number, answer: { by: string; body: string; at: string }) {
  await db
    .update(jobs)
    .set({ answers: sql`coalesce(${jobs.answers}, '[]'::jsonb) || ${JSON.stringify([answer])}::jsonb` })
    .where(eq(jobs.id, jobId));
}

/**
 * Moves a deferred job's `run_after` (it stays deferred; not a transition):
 * a re-dispatch that met the rate limit again. Compare-and-set on the state,
 * with an event on the timeline.
 */
export async function postponeDeferred(
  db: Database,
  change: { job: JobRow; runAfter: Date; code: "RATE_LIMITED"; message: string; actor: string; at: Date },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(jobs)
      .set({
        runAfter: change.runAfter,
        failureCode: change.code,
        failureMessage: change.message,
        updatedAt: change.at,
      })
      .where(and(eq(jobs.id, change.job.id), eq(jobs.status, "deferred")))
      .returning({ id: jobs.id });
    if (!rows.length) return false;
    await recordEvent(tx, {
      jobId: change.job.id,
      from: "deferred",
      to: "deferred",
      at: change.at,
      actor: change.actor,
      code: change.code,
      message: change.message,
      data: { runAfter: change.runAfter.toISOString() },
    });
    return true;
  });
}
