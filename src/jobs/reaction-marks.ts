import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";

/**
 * Takes the right to carry out a job's due reactions until `until`, or null
 * when none are due or another reactor holds them. The returned row's
 * `reactionVersion` is the version the reactor acts on.
 */
export async function takeReactions(db: Database, jobId: number, now: Date, until: Date): Promise<JobRow | null> {
  const [row] = await db
    .update(jobs)
    .set({ reactionLockedUntil: until })
    .where(
      and(
        eq(jobs.id, jobId),
        gt(jobs.reactionVersion, jobs.reactedVersion),
        or(isNull(jobs.reactionLockedUntil), lt(jobs.reactionLockedUntil, now)),
      ),
    )
    .returning();
  return row ?? null;
}

/**
 * Gives the reactions back: `done` records that everything due at `version`
 * was carried out (compare-and-set: a change since then keeps them due);
 * otherwise they stay due for the sweep.
 */
export async function releaseReactions(db: Database, jobId: number, version: number, done: boolean): Promise<void> {
  await db
    .update(jobs)
    .set({
      reactionLockedUntil: null,
      ...(done ? { reactedVersion: sql`greatest(${jobs.reactedVersion}, ${version})` } : {}),
    })
    .where(eq(jobs.id, jobId));
}

/** Jobs whose reactions have been due since before `olderThan` (index `jobs_reactions_due`). */
export async function findReactionsDue(db: Database, olderThan: Date, limit: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(gt(jobs.reactionVersion, jobs.reactedVersion), lt(jobs.updatedAt, olderThan)))
    .orderBy(asc(jobs.updatedAt))
    .limit(limit);
}
