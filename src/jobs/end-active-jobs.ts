import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { getJob } from "./find-jobs.js";
import { type FailureCode, isTerminal, type JobState } from "./states.js";
import { transitionJob } from "./transition-job.js";

/**
 * Ends each job with `to` (cancelled or abandoned) from whatever active state
 * it is in. A job that moves under us is read again and tried again; one that
 * reached a terminal state meanwhile is left as it is. A running job's worker
 * sees the change on its next heartbeat and stops the agent.
 */
export async function endActiveJobs(
  db: Database,
  jobs: readonly JobRow[],
  change: { to: "cancelled" | "abandoned"; code: FailureCode; message: string; actor: string; at: Date },
): Promise<JobRow[]> {
  const ended: JobRow[] = [];
  for (const job of jobs) {
    let from: JobState = job.status;
    for (let attempt = 0; attempt < 5 && !isTerminal(from); attempt++) {
      const result = await transitionJob(db, { jobId: job.id, from, ...change });
      if (result.ok) {
        ended.push(result.job);
        break;
      }
      const current = result.job ?? (await getJob(db, job.id));
      if (!current) break;
      from = current.status;
    }
  }
  return ended;
}
