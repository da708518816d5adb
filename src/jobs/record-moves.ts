import { is, SQL, sql } from "drizzle-orm";
import { timestampParam } from "../db/sql-values.js";
import type { JobState } from "./states.js";

/** What is recorded of every job in a `moved` set: `recordChange`'s fields, the same for the set. */
export interface MovesRecord {
  /** null: the statement created the jobs. An expression: a prebuilt statement's placeholder. */
  from: JobState | null | SQL;
  to: JobState | SQL;
  /** A value, or an expression over the `moved` row (`updated_at` when each job moved at its own time). */
  at: Date | SQL;
  /** A value, or an expression (a prebuilt statement's placeholder). */
  actor: string | SQL;
  /** A value, or an expression over the `moved` row. */
  code?: string | SQL | null;
  message?: string | SQL | null;
  /** The event's data: a value, or an expression over the `moved` row (`jsonb_build_object(...)`). */
  data?: Record<string, unknown> | SQL | null;
}

/**
 * The CTEs that record a set of moved jobs, to follow a CTE named `moved`
 * (an `UPDATE jobs … RETURNING *` that already set the jobs' reaction marks):
 * one `job_events` row per job, and each target's status comment marked behind
 * once by the number of its jobs that moved. What `recordChange` does for one
 * job inside a transaction, here inside the moving statement itself, so a move
 * is one round trip and its event and marks cannot be missing.
 */
export function recordMoves(record: MovesRecord): SQL {
  const when = is(record.at, SQL) ? record.at : timestampParam(record.at);
  const data =
    record.data === undefined || record.data === null
      ? sql`null::jsonb`
      : is(record.data, SQL)
        ? record.data
        : sql`${JSON.stringify(record.data)}::jsonb`;
  const value = (v: string | SQL | null | undefined) => (is(v, SQL) ? v : sql`${v ?? null}`);
  return sql`
    event as (
      insert into job_events (job_id, from_status, to_status, at, actor, code, message, data)
      select id, ${record.from}::job_status, ${record.to}::job_status, ${when}, ${value(record.actor)},
             ${value(record.code)}, ${value(record.message)}, ${data}
      from moved
    ), comment as (
      insert into status_comments
        (installation_id, repository_id, repository_full_name, target_number, version, dirty_since, updated_at)
      select installation_id, repository_id, repository_full_name, target_number, count(*), min(${when}), max(${when})
      from moved group by installation_id, repository_id, repository_full_name, target_number
      on conflict (repository_id, target_number) do update
        set version = status_comments.version + excluded.version,
            dirty_since = coalesce(status_comments.dirty_since, excluded.dirty_since),
            updated_at = excluded.updated_at
    )`;
}
