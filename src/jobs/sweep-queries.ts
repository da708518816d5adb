import { and, asc, eq, isNotNull, isNull, lt, lte, ne, or } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";

export interface SweepQuery {
  /** The sweep's idea of "now" (from the injected clock). */
  now: Date;
  /** At most this many rows per call: each sweep is bounded. */
  limit: number;
}

/** `running` jobs whose deadline plus a grace has passed (index `jobs_running_deadline`). */
export async function findRunningPastDeadline(
  db: Database,
  query: SweepQuery & { graceSeconds: number },
): Promise<JobRow[]> {
  const cutoff = new Date(query.now.getTime() - query.graceSeconds * 1000);
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "running"), lt(jobs.deadlineAt, cutoff)))
    .orderBy(asc(jobs.deadlineAt))
    .limit(query.limit);
}

/** `running` jobs whose worker stopped renewing its lease (index `jobs_running_lease`). */
export async function findExpiredLeases(db: Database, query: SweepQuery): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "running"), lt(jobs.leaseExpiresAt, query.now)))
    .orderBy(asc(jobs.leaseExpiresAt))
    .limit(query.limit);
}

/** `deferred` jobs without a hold whose `run_after` has come, or never was set (index `jobs_deferred_due`). */
export async function findDueDeferred(db: Database, query: SweepQuery): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(
      and(eq(jobs.status, "deferred"), isNull(jobs.hold), or(isNull(jobs.runAfter), lte(jobs.runAfter, query.now))),
    )
    .orderBy(asc(jobs.runAfter))
    .limit(query.limit);
}

/** `pending` jobs without a hold created before `olderThan`: their dispatcher died (index `jobs_pending_since`). */
export async function findStalePending(db: Database, query: SweepQuery & { olderThan: Date }): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "pending"), isNull(jobs.hold), lt(jobs.createdAt, query.olderThan)))
    .orderBy(asc(jobs.createdAt))
    .limit(query.limit);
}

/** Held jobs whose hold is older than `olderThan` (index `jobs_held_since`). */
export async function findLongHeld(db: Database, query: SweepQuery & { olderThan: Date }): Promise<JobRow[]> {
  return (
    db
      .select()
      .from(jobs)
      // A quota hold lasts until the month turns (the quotas sweep lifts it): it is not "held too long".
      .where(and(isNotNull(jobs.hold), ne(jobs.hold, "quota_reached"), lt(jobs.updatedAt, query.olderThan)))
      .orderBy(asc(jobs.updatedAt))
      .limit(query.limit)
  );
}

/** Jobs held by a spent quota, oldest first (index `jobs_held_since`). */
export async function findQuotaHeld(db: Database, query: SweepQuery): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(isNotNull(jobs.hold), eq(jobs.hold, "quota_reached")))
    .orderBy(asc(jobs.updatedAt))
    .limit(query.limit);
}

/** Finished jobs older than `finishedBefore` whose logs are still kept (index `jobs_finished_unpruned`). */
export async function findUnprunedFinished(
  db: Database,
  query: SweepQuery & { finishedBefore: Date },
): Promise<number[]> {
  const rows = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(isNull(jobs.prunedAt), lt(jobs.finishedAt, query.finishedBefore)))
    .orderBy(asc(jobs.finishedAt))
    .limit(query.limit);
  return rows.map((row) => row.id);
}

/** The `running` jobs a worker id holds (start-up recovery of a restarted worker). */
export async function findRunningOfWorker(db: Database, workerId: string): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "running"), eq(jobs.workerId, workerId)));
}
