import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { columnOf, columnValues, PrebuiltStatements, placeholder } from "../db/prebuilt-statement.js";
import { type JobRow, jobs, type NewJobRow } from "../db/schema.js";
import { metrics } from "../metrics.js";
import { announceSoon, noticeOf } from "./announce-changes.js";
import { endRunTogether, endsRunTogether } from "./end-runs-together.js";
import { getJob } from "./find-jobs.js";
import { JOB_CHANNEL } from "./notify.js";
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
  const shape: AloneShape = {
    keys: Object.keys(values)
      .filter((key) => values[key as keyof NewJobRow] !== undefined)
      .sort(),
    mark: isTerminal(to) ? "ended" : to === "pending" || to === "deferred" ? "held" : "none",
    markFrom: HELD_MARK_KEYS.filter((key) => key in values),
    claim: request.claim !== undefined,
    expect: request.expect?.pauseRequested !== undefined,
    notify: to === "queued",
    counted: from === "running" || to === "running",
  };
  const params: Record<string, unknown> = {
    jobId,
    from,
    to,
    at: at.toISOString(),
    actor: request.actor,
    code: request.code ?? null,
    message: request.message ?? null,
    data: request.data === undefined || request.data === null ? null : JSON.stringify(request.data),
    claimWorker: request.claim?.workerId ?? null,
    claimAttempt: request.claim?.attempt ?? null,
    expectPause: request.expect?.pauseRequested ?? null,
  };
  Object.assign(params, columnValues(jobs, values, "set_"));
  for (const name of shape.markFrom) params[`mark_${name}`] = values[name] ?? null;
  const [moved] = await aloneStatements.of(shape).rows(db, params);
  if (!moved) return notMoved(db, jobId);
  return answerMoved(db, request, mapTableRow(jobs, moved), { announced: shape.notify });
}

/** What makes two transitions the same statement: the columns they set, their reaction mark, their guards. */
interface AloneShape {
  keys: string[];
  mark: "ended" | "held" | "none";
  /** The values the held mark reads from the new row rather than the old one. */
  markFrom: Array<(typeof HELD_MARK_KEYS)[number]>;
  claim: boolean;
  expect: boolean;
  /**
   * A job becoming `queued` is announced by its own statement (delivered at its commit), as
   * graphile-worker's add_job does: an idle worker hears of it a round trip sooner than from the
   * NOTIFY statement that follows other changes (see announceChanges).
   */
  notify: boolean;
  /**
   * The move changes the installation's running count (jobs_count_running): the statement locks
   * that installation before the job's row, as run ends together do, so that the two waiting on the
   * same job never close a cycle (a claim waits only on installations: it skips locked jobs).
   */
  counted: boolean;
}
const HELD_MARK_KEYS = ["hold", "question", "questionCommentId"] as const;
/** transitionAlone's statements by shape, built once each; the code has a few dozen. */
const aloneStatements = new PrebuiltStatements(aloneSql, 500);

/**
 * The compare-and-set (`UPDATE … WHERE id = $1 AND status = $from RETURNING *`, plus the
 * claim and the pause flag when given) with the reaction mark, and recordMoves' event and
 * comment mark, in one statement.
 */
function aloneSql(shape: AloneShape): SQL {
  const value = placeholder;
  const sets = shape.keys.map((key) => sql`${sql.identifier(columnOf(jobs, key).name)} = ${value(`set_${key}`)}`);
  const markSource = (key: (typeof HELD_MARK_KEYS)[number]) =>
    shape.markFrom.includes(key) ? value(`mark_${key}`) : sql`jobs.${sql.identifier(columnOf(jobs, key).name)}`;
  // needsReactions (record-change.ts) for the row this update writes: an ended job that is not
  // a duplicate, or a question waiting to be posted.
  const mark =
    shape.mark === "ended"
      ? sql`(case when jobs.duplicate_of is null then 1 else 0 end)`
      : shape.mark === "held"
        ? sql`(case when jobs.duplicate_of is null
            and ${markSource("hold")}::text = 'awaiting_input'
            and ${markSource("question")}::text is not null
            and ${markSource("questionCommentId")}::bigint is null then 1 else 0 end)`
        : null;
  if (mark) sets.push(sql`reaction_version = jobs.reaction_version + ${mark}`);
  const guards = [sql`jobs.id = ${value("jobId")}`, sql`jobs.status = ${value("from")}::job_status`];
  if (shape.claim)
    guards.push(sql`jobs.worker_id = ${value("claimWorker")}`, sql`jobs.attempt = ${value("claimAttempt")}`);
  if (shape.expect) guards.push(sql`jobs.pause_requested = ${value("expectPause")}`);
  // A one-time filter: the installation is locked before the update looks at the job's row.
  if (shape.counted) guards.push(sql`(select count(*) from locked) >= 0`);
  const locked = shape.counted
    ? sql`locked as (
      select i.id from installations i
      where i.id = (select j.installation_id from jobs j where j.id = ${value("jobId")})
      for no key update of i
    ), `
    : sql``;
  return sql`with ${locked}moved as (
      update jobs set ${sql.join(sets, sql`, `)}
      where ${sql.join(guards, sql` and `)}
      returning *
    ),
    ${recordMoves({
      from: value("from"),
      to: value("to"),
      at: sql`${value("at")}::timestamptz`,
      actor: value("actor"),
      code: value("code"),
      message: value("message"),
      data: sql`${value("data")}::jsonb`,
    })}
    select moved.* from moved${
      shape.notify
        ? sql` cross join lateral (select pg_notify(${sql.raw(`'${JOB_CHANNEL}'`)},
            json_build_object('id', moved.id, 'status', moved.status, 'installationId', moved.installation_id)::text)) notified`
        : sql``
    }`;
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
export async function answerMoved(
  db: Database,
  request: TransitionRequest,
  job: JobRow,
  { announced = false }: { announced?: boolean } = {},
): Promise<TransitionResult> {
  const { from, to, at } = request;
  if (!announced) await announceSoon(db, [noticeOf(job)]);
  metrics.transitions.inc({ from, to });
  if (from === "running" && job.startedAt) {
    metrics.runDuration.observe({ outcome: to }, (at.getTime() - job.startedAt.getTime()) / 1000);
  }
  return { ok: true, job, previous: from };
}
