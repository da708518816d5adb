import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { type StatusCommentRow, statusComments } from "../../db/schema.js";

export interface CommentTarget {
  installationId: number;
  repositoryId: number;
  repositoryFullName: string;
  targetNumber: number;
}

/** Marks the target's comment as behind the jobs (creating its row the first time). */
export async function markCommentDirty(db: Database, target: CommentTarget, at: Date): Promise<StatusCommentRow> {
  const [row] = await db
    .insert(statusComments)
    .values({ ...target, dirtySince: at, updatedAt: at })
    .onConflictDoUpdate({
      target: [statusComments.repositoryId, statusComments.targetNumber],
      set: { dirtySince: sql`coalesce(${statusComments.dirtySince}, excluded.dirty_since)`, updatedAt: at },
    })
    .returning();
  if (!row) throw new Error("could not mark the status comment");
  return row;
}

/**
 * Takes the right to write this comment until `until`, or returns null when
 * another writer holds it. This lease is what keeps concurrent transitions
 * from creating two comments: only the holder calls GitHub.
 */
export async function takeCommentLease(
  db: Database,
  id: number,
  writer: string,
  now: Date,
  until: Date,
): Promise<StatusCommentRow | null> {
  const [row] = await db
    .update(statusComments)
    .set({ lockedBy: writer, lockedUntil: until })
    .where(
      and(
        eq(statusComments.id, id),
        or(
          isNull(statusComments.lockedUntil),
          lt(statusComments.lockedUntil, now),
          eq(statusComments.lockedBy, writer),
        ),
      ),
    )
    .returning();
  return row ?? null;
}

export async function releaseCommentLease(db: Database, id: number, writer: string): Promise<StatusCommentRow | null> {
  const [row] = await db
    .update(statusComments)
    .set({ lockedBy: null, lockedUntil: null })
    .where(and(eq(statusComments.id, id), eq(statusComments.lockedBy, writer)))
    .returning();
  return row ?? null;
}

/**
 * Records a successful write. The dirty mark is cleared only if nobody marked
 * it again since `dirtySince` was read (compare-and-set), so a transition that
 * happened during the write is not lost.
 */
export async function recordCommentWritten(
  db: Database,
  params: { id: number; commentId: number; body: string | null; dirtySince: Date | null; at: Date },
): Promise<boolean> {
  const [row] = await db
    .update(statusComments)
    .set({
      commentId: params.commentId,
      ...(params.body !== null ? { renderedBody: params.body } : {}),
      dirtySince: sql`case when ${statusComments.dirtySince} is not distinct from ${params.dirtySince?.toISOString() ?? null}::timestamptz then null else ${statusComments.dirtySince} end`,
      lastError: null,
      updatedAt: params.at,
    })
    .where(eq(statusComments.id, params.id))
    .returning({ dirtySince: statusComments.dirtySince });
  return row?.dirtySince === null;
}

export async function recordCommentError(db: Database, id: number, message: string, at: Date): Promise<void> {
  await db.update(statusComments).set({ lastError: message, updatedAt: at }).where(eq(statusComments.id, id));
}

export async function getStatusComment(db: Database, repositoryId: number, targetNumber: number) {
  const [row] = await db
    .select()
    .from(statusComments)
    .where(and(eq(statusComments.repositoryId, repositoryId), eq(statusComments.targetNumber, targetNumber)));
  return row;
}

/** Comments behind their jobs since before `olderThan`, for the sweep (index `status_comments_dirty`). */
export async function findDirtyComments(db: Database, olderThan: Date, limit: number): Promise<StatusCommentRow[]> {
  return db
    .select()
    .from(statusComments)
    .where(lt(statusComments.dirtySince, olderThan))
    .orderBy(statusComments.dirtySince)
    .limit(limit);
}
