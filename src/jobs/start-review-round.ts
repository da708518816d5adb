import { and, asc, eq, isNotNull, isNull, ne, sql } from "drizzle-orm";
import type { JobTypeConfig, JobTypes } from "../config/job-types.js";
import { type Database, queryRows } from "../db/client.js";
import { type JobRow, jobs, type ReviewTrigger } from "../db/schema.js";
import { createJob } from "./create-job.js";
import { resultPullNumber } from "./review-state.js";
import { transitionJob } from "./transition-job.js";

export interface ReviewRoundRequest {
  installationId: number;
  repositoryId: number;
  repositoryFullName: string;
  pullNumber: number;
  pullTitle: string | null;
  pullUrl: string | null;
  /** Who asked: the reviewer, or the author of the `/labelrun revise` comment. */
  requestedBy: string;
  trigger: ReviewTrigger;
  /** Makes a redelivered review or comment a no-op. */
  deliveryId: string;
  /** The pull request's head commit, when the event said (the round's check run goes there). */
  headSha?: string | null;
}

export type ReviewRoundOutcome =
  | { outcome: "started"; job: JobRow; round: number }
  | { outcome: "duplicate"; job: JobRow; activeJob: JobRow }
  | { outcome: "already_recorded"; job: JobRow }
  /** Past `max_review_rounds`: recorded as a cancelled job that says so (the comment shows it). */
  | { outcome: "limit"; job: JobRow; rounds: number; max: number }
  /** No labelrun job opened this pull request, or its job type has no `on_review`. */
  | { outcome: "no_review_cycle"; message: string };

/**
 * A new round of review on a pull request a labelrun job opened: a job of the opener's
 * `on_review` type on that pull request, pointing at the opener (its parent) and counting
 * rounds, until `max_review_rounds`. A second request while a round is active is a duplicate
 * (the one-active-job index settles it); the same delivery twice records one job.
 */
export async function startReviewRound(
  deps: { db: Database; jobTypes: JobTypes },
  request: ReviewRoundRequest,
  at: Date,
  /** The pull request's review cycle when the caller looked it up already (`findReviewCycle`). */
  found?: ReviewCycle,
): Promise<ReviewRoundOutcome> {
  const cycle = found ?? (await findReviewCycle(deps, request.repositoryId, request.pullNumber));
  if ("message" in cycle) return { outcome: "no_review_cycle", message: cycle.message };
  const { opener, openerType, reviseType } = cycle;
  const revise = deps.jobTypes.byName.get(reviseType);
  const [counted] = await queryRows<{ n: string | number }>(
    deps.db,
    sql`select count(*) as n from jobs
        where parent_job_id = ${opener.id} and job_type = ${reviseType}
          and review_round is not null and duplicate_of is null`,
  );
  const rounds = Number(counted?.n ?? 0);
  const max = openerType.max_review_rounds;
  const created = await createJob(deps.db, {
    at,
    actor: `github:${request.requestedBy}`,
    job: {
      installationId: request.installationId,
      repositoryId: request.repositoryId,
      repositoryFullName: request.repositoryFullName,
      targetNumber: request.pullNumber,
      targetKind: "pull_request",
      targetTitle: request.pullTitle,
      targetUrl: request.pullUrl,
      jobType: reviseType,
      triggeredBy: request.requestedBy,
      deliveryId: request.deliveryId,
      maxAttempts: revise?.max_attempts,
      timeoutSeconds: revise ? Math.round(revise.timeout_minutes * 60) : undefined,
      parentJobId: opener.id,
      reviewRound: rounds >= max ? null : rounds + 1,
      review: request.trigger,
      checkHeadSha: request.headSha ?? null,
    },
  });
  if (created.outcome !== "created") return created;
  if (rounds < max) return { outcome: "started", job: created.job, round: rounds + 1 };
  // Past the limit: recorded, and ended at once with the reason, so the comment says it.
  const ended = await transitionJob(deps.db, {
    jobId: created.job.id,
    from: "pending",
    to: "cancelled",
    at,
    actor: "labelrun",
    code: "CANCELLED",
    message: `job #${opener.id}'s pull request has had ${rounds} review round${rounds === 1 ? "" : "s"}, the most \`${opener.jobType}\` allows (max_review_rounds: ${max}); labelrun will not start another. Add the trigger label to the issue again to start over`,
  });
  return { outcome: "limit", job: ended.ok ? ended.job : created.job, rounds, max };
}

/** A pull request's review cycle: the job that opened it and the `on_review` type of that job's type, or why there is none. */
export type ReviewCycle = { opener: JobRow; openerType: JobTypeConfig; reviseType: string } | { message: string };

export async function findReviewCycle(
  deps: { db: Database; jobTypes: JobTypes },
  repositoryId: number,
  pullNumber: number,
): Promise<ReviewCycle> {
  const opener = await findOpener(deps.db, repositoryId, pullNumber);
  if (!opener) return { message: "no labelrun job opened this pull request" };
  const openerType = deps.jobTypes.byName.get(opener.jobType);
  const reviseType = openerType?.on_review;
  if (!openerType || !reviseType) {
    return {
      message: `the job type \`${opener.jobType}\` that opened this pull request has no \`on_review\` job type`,
    };
  }
  return { opener, openerType, reviseType };
}

/** The job that opened the pull request: the first completed job of the repository, on another target, whose result it is. */
async function findOpener(db: Database, repositoryId: number, pullNumber: number): Promise<JobRow | undefined> {
  const candidates = await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.repositoryId, repositoryId),
        ne(jobs.targetNumber, pullNumber),
        eq(jobs.status, "completed"),
        isNotNull(jobs.resultUrl),
        isNull(jobs.duplicateOf),
      ),
    )
    .orderBy(asc(jobs.id))
    .limit(500);
  return candidates.find((job) => resultPullNumber(job) === pullNumber);
}
