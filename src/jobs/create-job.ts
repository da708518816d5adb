import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import type { InstallationInput } from "../db/installations.js";
import { type JobRow, jobs, type ReviewTrigger, type TargetSnapshot } from "../db/schema.js";
import { announceSoon, noticeOf } from "./announce-changes.js";
import { selectJobs } from "./find-jobs.js";
import { insertPending, rowFor } from "./insert-pending.js";
import { recordChange } from "./record-change.js";
import { ACTIVE_STATES, isTerminal, type JobHold, type TargetKind } from "./states.js";

export interface NewJob {
  installationId: number;
  repositoryId: number;
  repositoryFullName: string;
  targetNumber: number;
  targetKind: TargetKind;
  targetTitle?: string | null;
  targetUrl?: string | null;
  jobType: string;
  triggerLabel?: string | null;
  triggeredBy?: string | null;
  /** GitHub's `X-GitHub-Delivery`: the same delivery never records two jobs. */
  deliveryId?: string | null;
  maxAttempts?: number;
  timeoutSeconds?: number;
  /** A job that must wait for a person or another job from the start. */
  hold?: JobHold | null;
  blockedBy?: number | null;
  /** A follow-up's parent (the job whose pull request it works on). */
  parentJobId?: number | null;
  /** A review round's number (null for a request past `max_review_rounds`), and what started it. */
  reviewRound?: number | null;
  review?: ReviewTrigger | null;
  /** A pull request's head commit when the trigger said: the job's check run goes there. */
  checkHeadSha?: string | null;
  /** When the trigger's webhook showed the target open. */
  targetOpenAt?: Date | null;
  /** The issue/PR as the trigger's webhook showed it. */
  targetSnapshot?: TargetSnapshot | null;
}

export interface CreateJobRequest {
  job: NewJob;
  at: Date;
  actor: string;
  /** The job's installation, recorded in the job's own statement if it is not yet (never updated there). */
  installation?: InstallationInput;
}

export type CreateJobResult =
  /** A new `pending` job; `retryOf` is set when an earlier job on the target ended. */
  | { outcome: "created"; job: JobRow }
  /** Another job is active for this target and job type: this one was recorded `cancelled`. */
  | { outcome: "duplicate"; job: JobRow; activeJob: JobRow }
  /** This delivery was seen before: nothing new was recorded. */
  | { outcome: "already_recorded"; job: JobRow };

/** How many times to retry when the active job ends between our insert and our look-up. */
const MAX_ROUNDS = 5;

/**
 * Records a job for a trigger. The partial unique index
 * `jobs_one_active_per_target` settles concurrent triggers: exactly one insert
 * wins, every other one is recorded as a cancelled duplicate of the winner.
 * The usual case, a new job, is one statement (insertPending, shared with the
 * other new jobs of its turn); a delivery seen before or an active job on the
 * target take the transaction below.
 */
export async function createJob(db: Database, request: CreateJobRequest): Promise<CreateJobResult> {
  const { job, at, actor } = request;
  const inserted = await insertPending(db, request);
  if (inserted) {
    await announceSoon(db, [noticeOf(inserted)]);
    return { outcome: "created", job: inserted };
  }
  const result = await db.transaction(async (tx): Promise<CreateJobResult> => {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const seen = await findByDelivery(tx, job.deliveryId);
      if (seen) return { outcome: "already_recorded" as const, job: seen };

      const [previous] = await tx.select().from(jobs).where(sameTargetAndType(job)).orderBy(desc(jobs.id)).limit(1);
      const retried = previous && isTerminal(previous.status) ? previous : undefined;

      // No conflict target: a clash on either unique index (active target or
      // delivery id) makes this insert a no-op, and we find out which below.
      const [created] = await tx
        .insert(jobs)
        .values({
          ...rowFor(job, at),
          status: "pending",
          retryOf: retried?.id ?? null,
          retryNumber: retried ? retried.retryNumber + 1 : 0,
        })
        .onConflictDoNothing()
        .returning();
      if (created) {
        await recordChange(tx, {
          job: created,
          from: null,
          at,
          actor,
          code: retried ? "RETRY" : "CREATED",
          message: retried ? `retry of job ${retried.id}` : null,
          data: job.triggerLabel ? { label: job.triggerLabel } : null,
        });
        return { outcome: "created" as const, job: created };
      }

      const again = await findByDelivery(tx, job.deliveryId);
      if (again) return { outcome: "already_recorded" as const, job: again };

      const [active] = await tx
        .select()
        .from(jobs)
        .where(and(sameTargetAndType(job), inArray(jobs.status, [...ACTIVE_STATES])))
        .limit(1);
      if (!active) continue; // it ended meanwhile: try to become the active job

      const message = `duplicate of job ${active.id}, which was ${active.status} when this trigger arrived`;
      const [duplicate] = await tx
        .insert(jobs)
        .values({
          ...rowFor(job, at),
          status: "cancelled",
          duplicateOf: active.id,
          // A duplicate never ran: it is no review round.
          reviewRound: null,
          failureCode: "DUPLICATE",
          failureMessage: message,
          finishedAt: at,
        })
        .onConflictDoNothing()
        .returning();
      if (!duplicate) continue; // the same delivery raced us: the next round finds it
      await recordChange(tx, {
        job: duplicate,
        from: null,
        at,
        actor,
        code: "DUPLICATE",
        message,
        data: { duplicateOf: active.id },
      });
      return { outcome: "duplicate" as const, job: duplicate, activeJob: active };
    }
    throw new Error(
      `could not record a job for ${job.repositoryFullName}#${job.targetNumber} (${job.jobType}) after ${MAX_ROUNDS} rounds: the active job kept changing`,
    );
  });
  if (result.outcome !== "already_recorded") await announceSoon(db, [noticeOf(result.job)]);
  return result;
}

/** Jobs on the same issue/PR with the same job type (the key of the one-active-job rule). */
function sameTargetAndType(job: NewJob) {
  return and(
    eq(jobs.repositoryId, job.repositoryId),
    eq(jobs.targetNumber, job.targetNumber),
    eq(jobs.jobType, job.jobType),
  );
}

async function findByDelivery(db: Database, deliveryId: string | null | undefined): Promise<JobRow | undefined> {
  if (!deliveryId) return undefined;
  const [row] = await selectJobs(db, sql`delivery_id = ${deliveryId}`, sql`limit 1`);
  return row;
}
