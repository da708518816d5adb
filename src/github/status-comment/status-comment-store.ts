import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { installations, type StatusCommentRow, statusComments } from "../../db/schema.js";

export interface CommentTarget {
  installationId: number;
  repositoryId: number;
  repositoryFullName: string;
  targetNumber: number;
}

/**
 * Marks the target's comment as behind its jobs (creating its row the first
 * time) — for a repair by hand. Every change to a job marks it already, through
 * recordChange, in the change's own transaction.
 */
export async function markCommentDirty(db: Database, target: CommentTarget, at: Date): Promise<StatusCommentRow> {
  const [row] = await db
    .insert(statusComments)
    .values({ ...target, version: 1, dirtySince: at, updatedAt: at })
    .onConflictDoUpdate({
      target: [statusComments.repositoryId, statusComments.targetNumber],
      set: {
        version: sql`${statusComments.version} + 1`,
        dirtySince: sql`coalesce(${statusComments.dirtySince}, excluded.dirty_since)`,
        updatedAt: at,
      },
    })
    .returning();
  if (!row) throw new Error("could not mark the status comment");
  return row;
}

/** Whether the comment on GitHub is behind the jobs' records. */
export function isBehind(row: Pick<StatusCommentRow, "version" | "syncedVersion">): boolean {
  return row.version > row.syncedVersion;
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
 * Records a successful write of the render made at `version`. Compare-and-set:
 * `synced_version` only moves forward, and the mark is cleared only when no
 * change raised the version since the render read it, so a change that lands
 * during the write keeps the comment behind.
 */
export async function recordCommentWritten(
  db: Database,
  params: { id: number; commentId: number | null; body: string | null; version: number; at: Date },
): Promise<StatusCommentRow | null> {
  const [row] = await db
    .update(statusComments)
    .set({
      commentId: params.commentId,
      ...(params.body !== null ? { renderedBody: params.body } : {}),
      syncedVersion: sql`greatest(${statusComments.syncedVersion}, ${params.version})`,
      dirtySince: sql`case when ${statusComments.version} <= ${params.version} then null else ${statusComments.dirtySince} end`,
      lastError: null,
      updatedAt: params.at,
    })
    .where(eq(statusComments.id, params.id))
    .returning();
  return row ?? null;
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

/** Whether labelrun can still write on this installation (not uninstalled or suspended). */
export async function installationUsable(db: Database, installationId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: installations.id })
    .from(installations)
    .where(
      and(eq(installations.id, installationId), isNull(installations.deletedAt), isNull(installations.suspendedAt)),
    );
  return row !== undefined;
}
