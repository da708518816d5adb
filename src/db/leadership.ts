import { sql } from "drizzle-orm";
import { withDeadline } from "../deadline.js";
import { type DatabaseHandle, queryRows } from "./client.js";

/** The advisory lock key of the maintenance leader ("labelrun" in ASCII, as a bigint). */
export const MAINTENANCE_LOCK_KEY = 0x6c6162656c72756en;
/** The lock of the sweeps that wait on GitHub (see GITHUB_SWEEPS): a leader of their own. */
export const GITHUB_SWEEPS_LOCK_KEY = MAINTENANCE_LOCK_KEY + 1n;

/** How long one leader's tick may hold the lock before PostgreSQL ends its session. */
export const LEADER_DEADLINE_MS = 2 * 60_000;

/** Past the deadline, PostgreSQL ends the leader's session this much later if this process could not. */
const SERVER_BACKSTOP_MS = 5_000;

/** Raised when a sweep outlived its deadline: the lock is gone, the next tick (of any process) leads. */
export class SweepDeadlineError extends Error {
  constructor(ms: number) {
    super(`the maintenance sweep ran past its deadline of ${ms} ms; its lock was released`);
    this.name = "SweepDeadlineError";
  }
}

/**
 * Runs `sweep` only if this process wins this tick's leadership of `key`: a
 * transaction-level advisory lock held for the whole sweep on one pooled
 * connection, released at commit or when that connection dies, so a dead
 * leader hands over by the next interval. The sweep itself uses other pooled
 * connections. A stuck sweep cannot hold the lock forever: at the deadline
 * this process stops waiting and rolls back (releasing the lock), and should
 * it be unable to (a blocked event loop), PostgreSQL ends the leader's idle
 * session shortly after (`idle_in_transaction_session_timeout`). PGlite is one process by
 * construction (the data folder lock), so it always leads.
 */
export async function withLeadership<T>(
  handle: DatabaseHandle,
  sweep: () => Promise<T>,
  deadlineMs = LEADER_DEADLINE_MS,
  key = MAINTENANCE_LOCK_KEY,
): Promise<{ led: true; result: T } | { led: false }> {
  if (handle.driver === "pglite")
    return { led: true, result: await withDeadline(sweep(), deadlineMs, () => new SweepDeadlineError(deadlineMs)) };
  return handle.db.transaction(async (tx) => {
    // The server's backstop comes a little after this process's own deadline, which rolls back cleanly.
    const backstop = Math.ceil(deadlineMs) + SERVER_BACKSTOP_MS;
    await tx.execute(sql.raw(`set local idle_in_transaction_session_timeout = ${backstop}`));
    const [row] = await queryRows<{ leader: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(${key.toString()}::bigint) as leader`,
    );
    if (!row?.leader) return { led: false as const };
    return {
      led: true as const,
      result: await withDeadline(sweep(), deadlineMs, () => new SweepDeadlineError(deadlineMs)),
    };
  });
}
