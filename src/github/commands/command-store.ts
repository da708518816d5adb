import { and, eq, inArray, lt, or } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { commentCommands } from "../../db/schema.js";

export type CommandRow = typeof commentCommands.$inferSelect;
export type NewCommandRow = typeof commentCommands.$inferInsert;

/** How long a claimed command may stay claimed before another process may take it over (its process died). */
const CLAIM_TAKEOVER_MS = 600_000;

/** Records a `/labelrun` comment once: null when this comment was recorded before (a redelivery). */
export async function recordCommand(db: Database, row: NewCommandRow): Promise<CommandRow | null> {
  const [recorded] = await db.insert(commentCommands).values(row).onConflictDoNothing().returning();
  return recorded ?? null;
}

/**
 * Claims a command (compare-and-set on its state): the process that recorded
 * it and the sweep that finds it left behind never both carry it out. A claim
 * older than ten minutes belongs to a process that died mid-command.
 */
export async function claimCommand(db: Database, commentId: number, now: Date): Promise<CommandRow | null> {
  const [claimed] = await db
    .update(commentCommands)
    .set({ state: "running", processedAt: now })
    .where(
      and(
        eq(commentCommands.commentId, commentId),
        or(
          eq(commentCommands.state, "received"),
          and(
            eq(commentCommands.state, "running"),
            lt(commentCommands.processedAt, new Date(now.getTime() - CLAIM_TAKEOVER_MS)),
          ),
        ),
      ),
    )
    .returning();
  return claimed ?? null;
}

export async function recordCommandOutcome(
  db: Database,
  commentId: number,
  outcome: { done: boolean; message: string; at: Date },
): Promise<void> {
  await db
    .update(commentCommands)
    .set({ state: outcome.done ? "done" : "refused", outcome: outcome.message, processedAt: outcome.at })
    .where(eq(commentCommands.commentId, commentId));
}

/** Commands recorded before `before` and not carried out (or claimed by a process that died). */
export async function findLeftCommands(db: Database, before: Date, limit: number): Promise<CommandRow[]> {
  return db
    .select()
    .from(commentCommands)
    .where(and(inArray(commentCommands.state, ["received", "running"]), lt(commentCommands.createdAt, before)))
    .orderBy(commentCommands.createdAt)
    .limit(limit);
}
