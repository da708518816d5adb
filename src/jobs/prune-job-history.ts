import { inArray } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { jobEvents, jobLogs, jobs } from "../db/schema.js";

/**
 * Deletes the logs and events of finished jobs and marks them pruned, in one
 * transaction; the job rows (outcome, cost, timings) are kept.
 */
export async function pruneJobHistory(db: Database, jobIds: readonly number[], at: Date): Promise<void> {
  if (!jobIds.length) return;
  await db.transaction(async (tx) => {
    await tx.delete(jobLogs).where(inArray(jobLogs.jobId, [...jobIds]));
    await tx.delete(jobEvents).where(inArray(jobEvents.jobId, [...jobIds]));
    await tx
      .update(jobs)
      .set({ prunedAt: at })
      .where(inArray(jobs.id, [...jobIds]));
  });
}
