import { sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { timestampParam } from "../db/sql-values.js";
import { noticeOf } from "./announce-changes.js";
import type { JobNotice } from "./notify.js";
import { type JobState, TERMINAL_STATES } from "./states.js";

/** The job as it is after the change (the row the change's statement returned). */
export type ChangedJob = Pick<
  JobRow,
  | "id"
  | "installationId"
  | "repositoryId"
  | "repositoryFullName"
  | "targetNumber"
  | "status"
  | "hold"
  | "duplicateOf"
  | "question"
  | "questionCommentId"
>;

export interface JobChange {
  job: ChangedJob;
  /** The state before the change; null when the change created the job. */
  from: JobState | null;
  at: Date;
  /** Who changed it: `github:<login>`, `worker:<id>`, `maintenance`, `admin:<name>`, `job:<id>`. */
  actor: string;
  code?: string | null;
  message?: string | null;
  data?: Record<string, unknown> | null;
}

/**
 * Whether a change leaves work for the job's reactions (beyond its comment):
 * an ended job's label, follow-up and blocked jobs; a question to post. A
 * duplicate trigger leaves none: its active job carries the target.
 */
export function needsReactions(job: ChangedJob): boolean {
  if (job.duplicateOf !== null) return false;
  if ((TERMINAL_STATES as readonly JobState[]).includes(job.status)) return true;
  return job.hold === "awaiting_input" && job.question !== null && job.questionCommentId === null;
}

/**
 * The only way a change to a job is recorded. Called inside the transaction
 * that made the change, it writes, in one statement: the `job_events` row, the
 * durable mark that the target's status comment is behind (its version
 * raised) and the mark that the job's reactions are due (when it has any). So
 * the change and everything that must follow it commit together or not at
 * all; a crash after the commit leaves marks the sweep finds. Returns the
 * notice for `announceChanges`, which the owner of the transaction sends once
 * it has committed.
 */
export async function recordChange(tx: Database, change: JobChange): Promise<JobNotice> {
  const { job, at } = change;
  const when = timestampParam(at);
  const reactions = needsReactions(job)
    ? sql`, reaction as (update jobs set reaction_version = reaction_version + 1 where id = ${job.id})`
    : sql``;
  await tx.execute(sql`
    with event as (
      insert into job_events (job_id, from_status, to_status, at, actor, code, message, data)
      values (${job.id}, ${change.from}::job_status, ${job.status}::job_status, ${when}, ${change.actor},
              ${change.code ?? null}, ${change.message ?? null}, ${change.data ? JSON.stringify(change.data) : null}::jsonb)
    ), comment as (
      insert into status_comments
        (installation_id, repository_id, repository_full_name, target_number, version, dirty_since, updated_at)
      values (${job.installationId}, ${job.repositoryId}, ${job.repositoryFullName}, ${job.targetNumber}, 1, ${when}, ${when})
      on conflict (repository_id, target_number) do update
        set version = status_comments.version + 1,
            dirty_since = coalesce(status_comments.dirty_since, excluded.dirty_since),
            updated_at = excluded.updated_at
    )${reactions}
    select 1`);
  return noticeOf(job);
}
