import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { type CreateJobResult, createJob } from "./create-job.js";
import { getJob } from "./find-jobs.js";
import { isTerminal } from "./states.js";

export type RetryResult = CreateJobResult | { outcome: "not_found" } | { outcome: "still_active"; job: JobRow };

/**
 * A retry from the dashboard or CLI: a new job on the same target and job
 * type, exactly like re-adding the label (it points at the last job through
 * `retry_of`). Refused while the job is still active.
 */
export async function retryJob(db: Database, params: { jobId: number; actor: string; at: Date }): Promise<RetryResult> {
  const job = await getJob(db, params.jobId);
  if (!job) return { outcome: "not_found" };
  if (!isTerminal(job.status)) return { outcome: "still_active", job };
  return createJob(db, {
    at: params.at,
    actor: params.actor,
    job: {
      installationId: job.installationId,
      repositoryId: job.repositoryId,
      repositoryFullName: job.repositoryFullName,
      targetNumber: job.targetNumber,
      targetKind: job.targetKind,
      targetTitle: job.targetTitle,
      targetUrl: job.targetUrl,
      jobType: job.jobType,
      triggerLabel: job.triggerLabel,
      triggeredBy: params.actor,
      maxAttempts: job.maxAttempts,
      timeoutSeconds: job.timeoutSeconds,
    },
  });
}
