import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { jobs } from "../db/schema.js";
import { bigintArrayParam, timestampParam } from "../db/sql-values.js";
import { metrics } from "../metrics.js";
import { announceChanges, noticeOf } from "./announce-changes.js";
import { recordMoves } from "./record-moves.js";
import { assertTransition, isTerminal } from "./states.js";
import type { TransitionRequest } from "./transition-job.js";

/** A transition for a set of jobs: what `transitionJob` takes, without the per-job guards and patch. */
export type TransitionJobsRequest = Pick<TransitionRequest, "from" | "to" | "at" | "actor" | "code" | "message"> & {
  ids: readonly number[];
};

/**
 * `transitionJob` for many jobs moving the same way (a sweep's batch), in one statement:
 * `UPDATE … WHERE id = ANY($ids) AND status = $from RETURNING *` (the compare-and-set: a job
 * that moved meanwhile is left out), one multi-row `job_events` insert, each target's status
 * comment marked behind once with the number of its changes (recordMoves), the reaction marks
 * raised in the same update; then a notice per job (announceChanges). What `recordChange`
 * does for one job, for the set. Returns the jobs that moved.
 */
export async function transitionJobs(db: Database, request: TransitionJobsRequest) {
  const { from, to, at } = request;
  assertTransition(from, to);
  if (!request.ids.length) return [];
  const when = timestampParam(at);
  const outcome = ["deferred", "failed", "abandoned", "cancelled"].includes(to);
  const terminal = isTerminal(to);
  // The same fields transitionJob sets, in SQL.
  const sets = [
    sql`status = ${to}::job_status`,
    sql`updated_at = ${when}`,
    sql`failure_code = ${outcome ? (request.code ?? null) : null}::failure_code`,
    sql`failure_message = ${outcome ? (request.message ?? null) : null}`,
    ...(to === "queued" ? [sql`queued_at = ${when}`] : []),
    ...(to === "running" ? [sql`started_at = ${when}`] : []),
    ...(terminal ? [sql`finished_at = ${when}`, sql`target_snapshot = null`] : []),
    ...(to === "completed" ? [sql`progress = 100`] : []),
    ...(to !== "pending" && to !== "deferred" ? [sql`hold = null`] : []),
    // needsReactions: an ended job that is not a duplicate has reactions due.
    ...(terminal
      ? [sql`reaction_version = reaction_version + (case when duplicate_of is null then 1 else 0 end)`]
      : []),
  ];
  const rows = await queryRows(
    db,
    sql`
    with moved as (
      update jobs set ${sql.join(sets, sql`, `)}
      where id = any(${bigintArrayParam(request.ids)}) and status = ${from}::job_status
      returning *
    ),
    ${recordMoves(request)}
    select * from moved`,
  );
  if (!rows.length) return [];
  const moved = rows.map((row) => mapTableRow(jobs, row));
  metrics.transitions.inc({ from, to }, moved.length);
  await announceChanges(db, moved.map(noticeOf));
  return moved;
}
