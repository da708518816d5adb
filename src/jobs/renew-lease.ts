import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { timestampParam } from "../db/sql-values.js";
import { amendJob } from "./amend-job.js";

export interface LeaseRenewal {
  jobId: number;
  workerId: string;
  attempt: number;
  at: Date;
  leaseSeconds: number;
  /** Latest progress to store with the heartbeat (0–100), if any. */
  progress?: { percent: number; message: string | null };
}

/**
 * The worker's heartbeat: extends its lease (and stores progress) only while
 * it still holds the claim. False means the job is no longer this worker's
 * (cancelled, timed out, or handed to another worker): stop the agent.
 */
export async function renewLease(db: Database, renewal: LeaseRenewal): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      heartbeatAt: renewal.at,
      leaseExpiresAt: sql`${timestampParam(renewal.at)} + ${renewal.leaseSeconds} * interval '1 second'`,
      ...(renewal.progress ? { progress: renewal.progress.percent, progressMessage: renewal.progress.message } : {}),
    })
    .where(
      and(
        eq(jobs.id, renewal.jobId),
        eq(jobs.status, "running"),
        eq(jobs.workerId, renewal.workerId),
        eq(jobs.attempt, renewal.attempt),
      ),
    )
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/**
 * Progress the status comment should show: stored with a change record (so
 * the comment is marked behind), at most as often as the caller shows it.
 */
export async function recordProgress(
  db: Database,
  change: { jobId: number; workerId: string; attempt: number; at: Date; percent: number; message: string | null },
): Promise<JobRow | null> {
  return amendJob(db, {
    jobId: change.jobId,
    status: "running",
    claim: { workerId: change.workerId, attempt: change.attempt },
    set: { progress: change.percent, progressMessage: change.message },
    at: change.at,
    actor: `worker:${change.workerId}`,
    code: "PROGRESS",
    message: `${change.percent} %${change.message ? ` — ${change.message}` : ""}`,
  });
}
