import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { jobs } from "../db/schema.js";
import { bigintArrayParam, timestampParam } from "../db/sql-values.js";
import { metrics } from "../metrics.js";
import { JOB_CHANNEL } from "./notify.js";
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
 * comment marked behind once with the number of its changes, the reaction marks raised in the
 * same update, and a NOTIFY per job. What `recordChange` does for one job, for the set, in the
 * same transaction. Returns the jobs that moved.
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
    ...(terminal ? [sql`finished_at = ${when}`] : []),
    ...(to === "completed" ? [sql`progress = 100`] : []),
    ...(to !== "pending" && to !== "deferred" ? [sql`hold = null`] : []),
    // needsReactions: an ended job that is not a duplicate has reactions due.
    ...(terminal
      ? [sql`reaction_version = reaction_version + (case when duplicate_of is null then 1 else 0 end)`]
      : []),
  ];
  const moved = await queryRows<typeof jobs.$inferSelect & Record<string, unknown>>(
    db,
    sql`
    with moved as (
      update jobs set ${sql.join(sets, sql`, `)}
      where id = any(${bigintArrayParam(request.ids)}) and status = ${from}::job_status
      returning *
    ), event as (
      insert into job_events (job_id, from_status, to_status, at, actor, code, message)
      select id, ${from}::job_status, ${to}::job_status, ${when}, ${request.actor}, ${request.code ?? null}, ${request.message ?? null}
      from moved
    ), comment as (
      insert into status_comments
        (installation_id, repository_id, repository_full_name, target_number, version, dirty_since, updated_at)
      select installation_id, repository_id, repository_full_name, target_number, count(*), ${when}, ${when}
      from moved group by installation_id, repository_id, repository_full_name, target_number
      on conflict (repository_id, target_number) do update
        set version = status_comments.version + excluded.version,
            dirty_since = coalesce(status_comments.dirty_since, excluded.dirty_since),
            updated_at = excluded.updated_at
    )
    select moved.id, pg_notify(${JOB_CHANNEL}, json_build_object('id', moved.id, 'status', moved.status, 'installationId', moved.installation_id)::text) as notified
    from moved`,
  );
  if (!moved.length) return [];
  metrics.transitions.inc({ from, to }, moved.length);
  const ids = moved.map((row) => Number(row.id));
  return db
    .select()
    .from(jobs)
    .where(sql`id = any(${bigintArrayParam(ids)})`);
}
