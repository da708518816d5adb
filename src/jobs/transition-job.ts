import { type AnyColumn, and, eq, type SQL, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { type Database, queryRows } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { type JobRow, jobs, type NewJobRow } from "../db/schema.js";
import { metrics } from "../metrics.js";
import { announceSoon, noticeOf } from "./announce-changes.js";
import { endRunTogether, endsRunTogether } from "./end-runs-together.js";
import { getJob } from "./find-jobs.js";
import { recordMoves } from "./record-moves.js";
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
 * The one function that changes a job's status, in one statement: a
 * compare-and-set (`UPDATE … WHERE id = $1 AND status = $from RETURNING *`)
 * with, in the same statement, what recordChange writes (the event, the
 * comment mark, the reaction mark, the NOTIFY). An illegal pair throws
 * `IllegalTransitionError` before touching the database; a lost race is
 * returned as `{ ok: false, reason: "conflict", job }`.
 */
export async function transitionJob(db: Database, request: TransitionRequest): Promise<TransitionResult> {
  assertTransition(request.from, request.to);
  const values = transitionValues(request);
  // A run's end goes out with the other runs' ends of this turn, in one statement.
  if (endsRunTogether(db, request)) return endRunTogether(db, request, values);
  return transitionAlone(db, request, values);
}

/** transitionJob in a statement of its own, for a checked pair and its row values. */
export async function transitionAlone(
  db: Database,
  request: TransitionRequest,
  values: Partial<NewJobRow>,
): Promise<TransitionResult> {
  const { jobId, from, to, at } = request;
  const reactionMark = reactionsDue(to, values);
  const set: PgUpdateSetSource<typeof jobs> = reactionMark
    ? { ...values, reactionVersion: sql`${jobs.reactionVersion} + ${reactionMark}` }
    : values;

  const guards = [eq(jobs.id, jobId), eq(jobs.status, from)];
  if (request.claim) {
    guards.push(eq(jobs.workerId, request.claim.workerId), eq(jobs.attempt, request.claim.attempt));
  }
  if (request.expect?.pauseRequested !== undefined) guards.push(eq(jobs.pauseRequested, request.expect.pauseRequested));
  // `returning *` mapped by mapTableRow: drizzle's `.returning()` spells out every column, which
  // costs more CPU than the rest of the statement's building (bench:queue).
  const update = db
    .update(jobs)
    .set(set)
    .where(and(...guards));
  const [moved] = await queryRows(
    db,
    sql`with moved as (${update.getSQL()} returning *),
      ${recordMoves({ from, to, at, actor: request.actor, code: request.code, message: request.message, data: request.data })}
      select * from moved`,
  );
  if (!moved) return notMoved(db, jobId);
  return answerMoved(db, request, mapTableRow(jobs, moved));
}

/** What a transition writes into the job's row besides the reaction mark: its status, timestamps and patch. */
export function transitionValues(request: TransitionRequest): Partial<NewJobRow> {
  const { to, at } = request;
  const values: Partial<NewJobRow> = {
    ...request.patch,
    status: to,
    updatedAt: at,
  };
  if (to === "queued") values.queuedAt = at;
  if (to === "running") values.startedAt = at;
  if (isTerminal(to)) {
    values.finishedAt = at;
    // Stranger text kept only for the run: an ended job keeps its title, not the body.
    values.targetSnapshot = null;
  }
  if (to === "completed") values.progress = 100;
  if (OUTCOME_STATES.includes(to)) {
    values.failureCode = request.code ?? null;
    values.failureMessage = request.message ?? null;
  } else {
    values.failureCode = null;
    values.failureMessage = null;
  }
  if (to !== "pending" && to !== "deferred") values.hold = null;
  return values;
}

/** A transition whose compare failed: the job as it is now, or not found. */
export async function notMoved(db: Database, jobId: number): Promise<TransitionResult> {
  const current = await getJob(db, jobId);
  return current ? { ok: false, reason: "conflict", job: current } : { ok: false, reason: "not_found", job: null };
}

/** After a transition's statement committed: the notice, the metrics, the answer. */
export async function answerMoved(db: Database, request: TransitionRequest, job: JobRow): Promise<TransitionResult> {
  const { from, to, at } = request;
  await announceSoon(db, [noticeOf(job)]);
  metrics.transitions.inc({ from, to });
  if (from === "running" && job.startedAt) {
    metrics.runDuration.observe({ outcome: to }, (at.getTime() - job.startedAt.getTime()) / 1000);
  }
  return { ok: true, job, previous: from };
}

/**
 * needsReactions (record-change.ts) for the row this update writes, in SQL:
 * an ended job that is not a duplicate, or a question waiting to be posted.
 */
function reactionsDue(to: JobState, values: Partial<NewJobRow>): SQL | null {
  if (isTerminal(to)) return sql`(case when ${jobs.duplicateOf} is null then 1 else 0 end)`;
  if (to !== "pending" && to !== "deferred") return null;
  const newValue = (key: "hold" | "question" | "questionCommentId", column: AnyColumn) =>
    key in values ? sql`${values[key] ?? null}` : sql`${column}`;
  return sql`(case when ${jobs.duplicateOf} is null
      and ${newValue("hold", jobs.hold)}::text = 'awaiting_input'
      and ${newValue("question", jobs.question)}::text is not null
      and ${newValue("questionCommentId", jobs.questionCommentId)}::bigint is null then 1 else 0 end)`;
}
