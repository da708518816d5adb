import { eq, gte } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type WorkerRow, workers } from "../db/schema.js";

/** A worker seen more recently than this is online. */
export const PRESENCE_WINDOW_MS = 60_000;

/** Says this worker is online and what it runs (an upsert: each renewal is one statement). */
export async function announceWorker(
  db: Database,
  worker: { workerId: string; host: string; runs: string[]; refuses: Record<string, string>; at: Date },
): Promise<void> {
  const row = { ...worker, startedAt: worker.at, seenAt: worker.at };
  await db
    .insert(workers)
    .values(row)
    .onConflictDoUpdate({
      target: workers.workerId,
      set: { host: worker.host, runs: worker.runs, refuses: worker.refuses, seenAt: worker.at },
    });
}

/** A stopping worker is gone at once (a crashed one leaves by the presence window). */
export async function forgetWorker(db: Database, workerId: string): Promise<void> {
  await db.delete(workers).where(eq(workers.workerId, workerId));
}

/** Workers seen within the presence window before `now`. */
export function liveWorkers(db: Database, now: Date): Promise<WorkerRow[]> {
  return db
    .select()
    .from(workers)
    .where(gte(workers.seenAt, new Date(now.getTime() - PRESENCE_WINDOW_MS)));
}
