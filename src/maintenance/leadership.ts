import { sql } from "drizzle-orm";
import { type DatabaseHandle, queryRows } from "../db/client.js";

/** The advisory lock key of the maintenance leader ("labelrun" in ASCII, as a bigint). */
export const MAINTENANCE_LOCK_KEY = 0x6c6162656c72756en;

/**
 * Runs `sweep` only if this process wins this tick's leadership: a
 * transaction-level advisory lock held for the whole sweep on one pooled
 * connection, released at commit or when that connection dies, so a dead
 * leader hands over by the next interval. The sweep itself uses other pooled
 * connections. PGlite is one process by construction (the data folder lock),
 * so it always leads.
 */
export async function withLeadership<T>(
  handle: DatabaseHandle,
  sweep: () => Promise<T>,
): Promise<{ led: true; result: T } | { led: false }> {
  if (handle.driver === "pglite") return { led: true, result: await sweep() };
  return handle.db.transaction(async (tx) => {
    const [row] = await queryRows<{ leader: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_KEY.toString()}::bigint) as leader`,
    );
    if (!row?.leader) return { led: false as const };
    return { led: true as const, result: await sweep() };
  });
}
