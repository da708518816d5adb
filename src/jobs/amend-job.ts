import { and, eq, inArray, isNull, type SQL } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { announceChanges } from "./announce-changes.js";
import { recordChange } from "./record-change.js";
import type { JobHold, JobState } from "./states.js";

export interface AmendRequest {
  jobId: number;
  /** Compare-and-set: the change applies only while the job is in this state… */
  status?: JobState | readonly JobState[];
  /** …with this hold (null: no hold)… */
  hold?: JobHold | null;
  /** …and, for a worker's change, under this claim. */
  claim?: { workerId: string; attempt: number };
  set: PgUpdateSetSource<typeof jobs>;
  at: Date;
  actor: string;
  code: string;
  message?: string | null;
  data?: Record<string, unknown> | null;
}

/**
 * A change to a job that keeps its state (a hold placed or lifted, a pause
 * asked for, progress, a question posted, its pull request's state): a
 * compare-and-set plus recordChange in one transaction, as for a transition.
 * Returns the job as changed, or null when the guard did not hold.
 */
export async function amendJob(db: Database, request: AmendRequest): Promise<JobRow | null> {
  const guards: SQL[] = [eq(jobs.id, request.jobId)];
  if (typeof request.status === "string") guards.push(eq(jobs.status, request.status));
  else if (request.status) guards.push(inArray(jobs.status, [...request.status]));
  if (request.hold !== undefined) guards.push(request.hold === null ? isNull(jobs.hold) : eq(jobs.hold, request.hold));
  if (request.claim) guards.push(eq(jobs.workerId, request.claim.workerId), eq(jobs.attempt, request.claim.attempt));
  const amended = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(jobs)
      .set({ ...request.set, updatedAt: request.at })
      .where(and(...guards))
      .returning();
    if (!updated) return null;
    const notice = await recordChange(tx, {
      job: updated,
      from: updated.status,
      at: request.at,
      actor: request.actor,
      code: request.code,
      message: request.message ?? null,
      data: request.data ?? null,
    });
    return { job: updated, notice };
  });
  if (!amended) return null;
  await announceChanges(db, [amended.notice]);
  return amended.job;
}
