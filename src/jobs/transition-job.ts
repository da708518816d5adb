import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs, type NewJobRow } from "../db/schema.js";
import { metrics } from "../metrics.js";
import { recordChange } from "./record-change.js";
import { assertTransition, type FailureCode, isTerminal, type JobState } from "./states.js";

/** Columns a transition may set besides the status and its timestamps. */
export type JobPatch = Partial<
  Pick<
    NewJobRow,
    | "hold"
    | "runAfter"
    | "workerId"
    | "leaseExpiresAt"
    | "heartbeatAt"
    | "deadlineAt"
    | "progress"
    | "progressMessage"
    | "costUsd"
    | "inputTokens"
    | "outputTokens"
    | "resultUrl"
    | "resultSummary"
    | "blockedBy"
    | "targetTitle"
    | "attempt"
    | "pauseRequested"
    | "question"
    | "questionCommentId"
    | "questionAskedAt"
    | "resultPrState"
    | "holdReason"
  >
>;

export interface TransitionRequest {
  jobId: number;
  /** The state the caller believes the job is in: the compare of compare-and-set. */
  from: JobState;
  to: JobState;
  at: Date;
  /** Who moves it: `github:<login>`, `worker:<id>`, `maintenance`, `admin:<name>`, `dispatcher`. */
  actor: string;
  /** Why: a failure code for failed/abandoned/cancelled/deferred, or an event code. */
  code?: FailureCode | null;
  message?: string | null;
  data?: Record<string, unknown> | null;
  patch?: JobPatch;
  /**
   * A worker's claim: the change applies only while this worker still holds
   * this attempt, so a worker the sweep gave up on cannot overwrite the job.
   */
  claim?: { workerId: string; attempt: number };
  /** More of the compare: the pause flag the caller's decision read. */
  expect?: { pauseRequested?: boolean };
}

export type TransitionResult =
  | { ok: true; job: JobRow; previous: JobState }
  /** The row was not in `from` (or not under this claim): here it is as it is now. */
  | { ok: false; reason: "conflict"; job: JobRow }
  | { ok: false; reason: "not_found"; job: null };

const OUTCOME_STATES: readonly JobState[] = ["deferred", "failed", "abandoned", "cancelled"];

/**
 * The one function that changes a job's status. A compare-and-set
 * (`UPDATE … WHERE id = $1 AND status = $from`) plus recordChange (event,
 * comment and reaction marks, NOTIFY), all in one transaction. An illegal pair throws
 * `IllegalTransitionError` before touching the database; a lost race is
 * returned as `{ ok: false, reason: "conflict", job }`.
 */
export async function transitionJob(db: Database, request: TransitionRequest): Promise<TransitionResult> {
  const { jobId, from, to, at } = request;
  assertTransition(from, to);
  return db
    .transaction(async (tx) => {
      const values: Partial<NewJobRow> = {
        ...request.patch,
        status: to,
        updatedAt: at,
      };
      if (to === "queued") values.queuedAt = at;
      if (to === "running") values.startedAt = at;
      if (isTerminal(to)) values.finishedAt = at;
      if (to === "completed") values.progress = 100;
      if (OUTCOME_STATES.includes(to)) {
        values.failureCode = request.code ?? null;
        values.failureMessage = request.message ?? null;
      } else {
        values.failureCode = null;
        values.failureMessage = null;
      }
      if (to !== "pending" && to !== "deferred") values.hold = null;

      const guards = [eq(jobs.id, jobId), eq(jobs.status, from)];
      if (request.claim) {
        guards.push(eq(jobs.workerId, request.claim.workerId), eq(jobs.attempt, request.claim.attempt));
      }
      if (request.expect?.pauseRequested !== undefined)
        guards.push(eq(jobs.pauseRequested, request.expect.pauseRequested));
      const [updated] = await tx
        .update(jobs)
        .set(values)
        .where(and(...guards))
        .returning();
      if (!updated) {
        const [current] = await tx.select().from(jobs).where(eq(jobs.id, jobId));
        return current
          ? { ok: false as const, reason: "conflict" as const, job: current }
          : { ok: false as const, reason: "not_found" as const, job: null };
      }
      await recordChange(tx, {
        job: updated,
        from,
        at,
        actor: request.actor,
        code: request.code ?? null,
        message: request.message ?? null,
        data: request.data ?? null,
      });
      return { ok: true as const, job: updated, previous: from };
    })
    .then((result) => {
      if (result.ok) {
        metrics.transitions.inc({ from, to });
        if (from === "running" && result.job.startedAt) {
          metrics.runDuration.observe({ outcome: to }, (at.getTime() - result.job.startedAt.getTime()) / 1000);
        }
      }
      return result;
    });
}
