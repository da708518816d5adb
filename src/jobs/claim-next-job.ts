import { type SQL, sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { type JobRow, jobs } from "../db/schema.js";
import { timestampParam } from "../db/sql-values.js";
import { metrics } from "../metrics.js";
import { announceChanges, noticeOf } from "./announce-changes.js";
import { recordMoves } from "./record-moves.js";
import { assertTransition } from "./states.js";

export interface ClaimRequest {
  workerId: string;
  at: Date;
  /** How long the claim holds without a heartbeat before the sweep calls the worker lost. */
  leaseSeconds: number;
  /** Running jobs allowed per installation, across all workers. */
  installationLimit: number;
  /** Lower limits for some job types (per installation). */
  jobTypeLimits?: Readonly<Record<string, number>>;
  /** Only claim these job types (a worker that knows a subset). Omit for all. */
  jobTypes?: readonly string[];
}

/** How many jobs at the front of the queue a claim looks at before it asks installation by installation. */
const FRONT = 64;
/** How many of each installation's oldest jobs the installation-by-installation look-up considers. */
const FRONT_PER_INSTALLATION = 4;
/**
 * After the front of the queue had nothing claimable but an installation further back did, this
 * process's claims go installation by installation for this long (a backlog at its limits stays
 * for a while), then look at the front again.
 */
const FRONT_BLOCKED_MS = 1_000;
const frontBlockedUntil = new WeakMap<Database, number>();
/** How often one claim tries again after losing its installation's last slot to another claimer. */
const ROUNDS_PER_CLAIM = 8;

/**
 * Claims the oldest due `queued` job of an installation under its limits and
 * moves it to `running` under this worker, in one statement with its event
 * and comment mark (one round trip; the NOTIFY follows, see announceChanges).
 *
 * Two races are settled here. The job row is taken `FOR UPDATE SKIP LOCKED`,
 * so claimers never wait for each other's jobs and never take the same one.
 * The limits are read from the installation's running counts (kept by the
 * trigger `jobs_count_running`), re-checked under that row's lock (`FOR NO KEY
 * UPDATE`, which does not block the foreign-key checks of new jobs): a second
 * claimer of the same installation waits for the first to commit and sees its
 * count, so no installation goes over its limit, and claimers of different
 * installations never wait on each other. A claimer that lost the last slot
 * tries again (the next round skips that installation).
 *
 * The candidate is the oldest claimable job among the first FRONT of the
 * queue; when those all belong to installations at their limit (a large
 * organisation's backlog), it is the oldest job of the installations under
 * their limits, so the cost of a claim never grows with the backlog.
 */
export async function claimNextJob(db: Database, request: ClaimRequest): Promise<JobRow | null> {
  assertTransition("queued", "running");
  const now = timestampParam(request.at);
  const limit = request.installationLimit;
  const typeFilter = (alias: string) =>
    request.jobTypes ? sql`and ${sql.raw(alias)}.job_type = any(${`{${request.jobTypes.join(",")}}`}::text[])` : sql``;
  const typeLimits = sql`${JSON.stringify(request.jobTypeLimits ?? {})}::jsonb`;
  // Both limits, read from an installation row `i` for a job type.
  const underLimits = (jobType: SQL) =>
    sql`i.running_count < ${limit}
        and coalesce((i.running_by_type ->> ${jobType})::int, 0) < coalesce((${typeLimits} ->> ${jobType})::int, ${limit})`;
  // Queued, not held, and due, for the jobs row under `alias`.
  const due = (alias: string) => {
    const job = sql.raw(alias);
    return sql`${job}.status = 'queued' and ${job}.hold is null and (${job}.run_after is null or ${job}.run_after <= ${now})`;
  };
  // The usual case: the oldest claimable job among the first jobs of the queue (one index range).
  const fromTheFront = sql`
    front as (
      select q.id from jobs q where ${due("q")} ${typeFilter("q")}
      order by q.queued_at, q.id limit ${FRONT}
    ), candidate as (
      select j.id, j.installation_id, j.job_type from front f join jobs j on j.id = f.id
      join installations i on i.id = j.installation_id
      where ${due("j")} and i.suspended_at is null and i.deleted_at is null and ${underLimits(sql`j.job_type`)}
      order by j.queued_at, j.id
      limit 1
      for update of j skip locked
    )`;
  // When the front of the queue belongs to installations at their limit: the oldest job of each
  // installation under its limits (one probe of jobs_queued_for_claim per such installation).
  const byInstallation = sql`
    candidate as (
      select j.id, j.installation_id, j.job_type from installations i
      cross join lateral (
        select q.id, q.queued_at from jobs q
        where q.installation_id = i.id and ${due("q")} ${typeFilter("q")}
          and coalesce((i.running_by_type ->> q.job_type)::int, 0) < coalesce((${typeLimits} ->> q.job_type)::int, ${limit})
        order by q.queued_at, q.id limit ${FRONT_PER_INSTALLATION}
      ) first
      join jobs j on j.id = first.id
      where i.suspended_at is null and i.deleted_at is null and i.running_count < ${limit} and ${due("j")}
      order by first.queued_at, first.id
      limit 1
      for update of j skip locked
    )`;
  const statement = (candidate: SQL) => sql`
    with ${candidate}, slot as (
      select i.id from installations i join candidate c on c.installation_id = i.id
      where ${underLimits(sql`c.job_type`)}
      for no key update of i
    ), moved as (
      update jobs set
        status = 'running', attempt = attempt + 1, worker_id = ${request.workerId},
        started_at = ${now}, heartbeat_at = ${now}, updated_at = ${now},
        lease_expires_at = ${now} + ${request.leaseSeconds} * interval '1 second',
        deadline_at = ${now} + timeout_seconds * interval '1 second',
        progress = null, progress_message = null, failure_code = null, failure_message = null, run_after = null
      from candidate c join slot on slot.id = c.installation_id
      where jobs.id = c.id
      returning jobs.*
    ),
    ${recordMoves({
      from: "queued",
      to: "running",
      at: request.at,
      actor: `worker:${request.workerId}`,
      code: "CLAIMED",
      data: sql`jsonb_build_object('attempt', attempt)`,
    })}
    select c.id as candidate_id, moved.* from candidate c left join moved on moved.id = c.id`;

  for (let round = 0; round < ROUNDS_PER_CLAIM; round++) {
    const skipFront = (frontBlockedUntil.get(db) ?? 0) > request.at.getTime();
    let [row] = skipFront ? [] : await queryRows(db, statement(fromTheFront));
    if (!row) {
      [row] = await queryRows(db, statement(byInstallation));
      // The front is all at its limit: ask installation by installation for a while.
      if (row && !skipFront) frontBlockedUntil.set(db, request.at.getTime() + FRONT_BLOCKED_MS);
    }
    if (!row) return null; // nothing claimable
    if (row.id === null || row.id === undefined) continue; // lost the installation's last slot
    const job = mapTableRow(jobs, row);
    await announceChanges(db, [noticeOf(job)]);
    metrics.transitions.inc({ from: "queued", to: "running" });
    if (job.queuedAt) metrics.queueWait.observe((request.at.getTime() - job.queuedAt.getTime()) / 1000);
    return job;
  }
  return null;
}
