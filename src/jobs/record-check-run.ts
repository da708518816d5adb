import { and, eq, isNull, type SQL } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";

/**
 * Records the check run a job's state was written to (reaction bookkeeping, like a status
 * comment's synced version: not a change of the job). Guarded by the check run id that was
 * read, so a writer that lost its status comment lease cannot overwrite a newer one's record.
 */
export async function recordCheckRun(
  db: Database,
  job: Pick<JobRow, "id" | "checkRunId">,
  written: { checkRunId: number | null; state: string },
): Promise<boolean> {
  const sameRun: SQL = job.checkRunId === null ? (isNull(jobs.checkRunId) as SQL) : eq(jobs.checkRunId, job.checkRunId);
  const updated = await db
    .update(jobs)
    .set({ checkRunId: written.checkRunId, checkRunState: written.state })
    .where(and(eq(jobs.id, job.id), sameRun))
    .returning({ id: jobs.id });
  return updated.length > 0;
}
