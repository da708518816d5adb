import { eq, sql } from "drizzle-orm";
import { type Database, queryRows } from "./client.js";
import { mapTableRow } from "./map-table-row.js";
import { type InstallationRow, installations } from "./schema.js";

export interface InstallationInput {
  id: number;
  accountLogin: string;
  accountType?: string;
}

/**
 * Records an installation (or refreshes its account), clearing a deletion if it came back. One
 * that is recorded as it is (every trigger but an installation's first) is only read: an upsert
 * would write the row again and hold its lock until commit, and every trigger of an installation
 * would queue on it.
 */
export async function recordInstallation(db: Database, input: InstallationInput, at: Date): Promise<InstallationRow> {
  const accountType = input.accountType ?? "User";
  const current = await getInstallation(db, input.id);
  if (
    current &&
    current.accountLogin === input.accountLogin &&
    current.accountType === accountType &&
    !current.deletedAt
  )
    return current;
  const [row] = await db
    .insert(installations)
    .values({
      id: input.id,
      accountLogin: input.accountLogin,
      accountType,
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoUpdate({
      target: installations.id,
      set: {
        accountLogin: input.accountLogin,
        accountType,
        deletedAt: null,
        updatedAt: at,
      },
    })
    .returning();
  if (!row) throw new Error(`could not record installation ${input.id}`);
  return row;
}

/** Marks an installation suspended (`at`) or unsuspended (`null`). No job is claimed while suspended. */
export async function setInstallationSuspended(db: Database, id: number, at: Date | null, now: Date): Promise<void> {
  await db.update(installations).set({ suspendedAt: at, updatedAt: now }).where(eq(installations.id, id));
}

/** Marks an installation deleted; its jobs are abandoned by the caller. */
export async function markInstallationDeleted(db: Database, id: number, at: Date): Promise<void> {
  await db.update(installations).set({ deletedAt: at, updatedAt: at }).where(eq(installations.id, id));
}

/** An installation by id (`select *`, mapped: a tenth of the CPU of drizzle's select; dispatch reads one per job). */
export async function getInstallation(db: Database, id: number): Promise<InstallationRow | undefined> {
  const [row] = await queryRows(db, sql`select * from installations where id = ${id}`);
  return row ? mapTableRow(installations, row) : undefined;
}
