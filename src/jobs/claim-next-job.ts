import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { PrebuiltStatements, placeholder } from "../db/prebuilt-statement.js";
import { type JobRow, jobs } from "../db/schema.js";
import { metrics } from "../metrics.js";
import { announceSoon, noticeOf } from "./announce-changes.js";
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
  /**
   * A job just announced as queued, to try first (an idle worker goes straight to it, without
   * looking along the queue); when it is not claimable, the claim goes on as without it.
   */
  first?: number;
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
const isCandidate = (row: Record<string, unknown>) => row.candidate_id !== null && row.candidate_id !== undefined;
/** How often one claim tries again after losing its installation's last slot to another claimer. */
const ROUNDS_PER_CLAIM = 8;

/**
 * Claims the oldest due `queued` job of an installation under its limits and
 * moves it to `running` under this worker; see claimJobs.
 */
export async function claimNextJob(db: Database, request: ClaimRequest): Promise<JobRow | null> {
  const [job] = await claimJobs(db, request, 1);
  return job ?? null;
}

/**
 * Claims up to `max` jobs and moves them to `running` under this worker, in
 * one statement with their events and comment marks (one round trip; the
 * NOTIFY follows, see announceChanges): the oldest due `queued` job of an
 * installation under its limits, and with it that installation's next due
 * jobs in queue order, as many as its free slots allow. All the jobs of one
 * claim belong to one installation, so a claim locks one installation row
 * (no lock-order cycle with another claim or a sweep).
 *
 * Two races are settled here. The job rows are taken `FOR UPDATE SKIP
 * LOCKED`, so claimers never wait for each other's jobs and never take the
 * same one. The limits are read from the installation's running counts (kept
 * by the trigger `jobs_count_running`), re-read under that row's lock (`FOR
 * NO KEY UPDATE`, which does not block the foreign-key checks of new jobs): a
 * second claimer of the same installation waits for the first to commit and
 * sees its count, so no installation goes over its limit (the n-th job of a
 * claim needs n free slots, in all and of its type), and claimers of
 * different installations never wait on each other. A claimer that lost the
 * installation's last slot tries again (the next round skips that
 * installation).
 *
 * The first job is the oldest claimable one among the first FRONT of the
 * queue; when those all belong to installations at their limit (a large
 * organisation's backlog), it is the oldest job of the installations under
 * their limits, so the cost of a claim never grows with the backlog.
 */
export async function claimJobs(db: Database, request: ClaimRequest, max: number): Promise<JobRow[]> {
  return (await claimAndLook(db, request, max)).jobs;
}

/** What a claim took, and whether it saw more due jobs than it took. */
export interface Claim {
  jobs: JobRow[];
  /**
   * Whether, when the claim's statement ran, the queue held another due job this worker runs
   * (claimable or not): when false, claiming again before a job is queued finds nothing.
   */
  moreDue: boolean;
}

/** claimJobs, also telling whether more jobs were due than it took (see Claim). */
export async function claimAndLook(db: Database, request: ClaimRequest, max: number): Promise<Claim> {
  assertTransition("queued", "running");
  if (max < 1) return { jobs: [], moreDue: true };
  if (!Number.isSafeInteger(request.installationLimit) || request.installationLimit < 0)
    throw new RangeError(`installationLimit must be a whole number ≥ 0, not ${request.installationLimit}`);
  const shape = (candidate: CandidateKind): ClaimShape => ({
    candidate,
    more: max - 1,
    typed: request.jobTypes !== undefined,
    installationLimit: request.installationLimit,
  });
  const values = {
    now: request.at.toISOString(),
    workerId: request.workerId,
    actor: `worker:${request.workerId}`,
    leaseSeconds: request.leaseSeconds,
    jobTypes: request.jobTypes ? `{${request.jobTypes.join(",")}}` : null,
    typeLimits: JSON.stringify(request.jobTypeLimits ?? {}),
    first: request.first ?? null,
  };
  const claim = (candidate: CandidateKind) => claimStatements.of(shape(candidate)).rows(db, values);

  for (let round = 0; round < ROUNDS_PER_CLAIM; round++) {
    const skipFront = (frontBlockedUntil.get(db) ?? 0) > request.at.getTime();
    let rows: Array<Record<string, unknown>> =
      round === 0 && request.first !== undefined ? await claim("announced") : [];
    if (!rows.some(isCandidate) && !skipFront) {
      rows = await claim("front");
      if (rows[0]?.front_empty === true) return { jobs: [], moreDue: false }; // nothing due is queued
    }
    if (!rows.some(isCandidate)) {
      rows = await claim("byInstallation");
      // The front is all at its limit: ask installation by installation for a while.
      if (rows.some(isCandidate) && !skipFront) frontBlockedUntil.set(db, request.at.getTime() + FRONT_BLOCKED_MS);
    }
    if (!rows.some(isCandidate)) return { jobs: [], moreDue: true }; // nothing claimable
    const claimed = rows.filter((row) => row.id !== null && row.id !== undefined).map((row) => mapTableRow(jobs, row));
    if (!claimed.length) continue; // lost the installation's last slot
    await announceSoon(db, claimed.map(noticeOf));
    for (const job of claimed) {
      metrics.transitions.inc({ from: "queued", to: "running" });
      if (job.queuedAt) metrics.queueWait.observe((request.at.getTime() - job.queuedAt.getTime()) / 1000);
    }
    return { jobs: claimed, moreDue: rows[0]?.more_due === true };
  }
  return { jobs: [], moreDue: true };
}

/**
 * Where a claim's first job comes from: the job just announced, the front of the queue, or
 * the oldest job of each installation under its limits (see claimJobs).
 */
type CandidateKind = "announced" | "front" | "byInstallation";

/** What makes two claims the same statement; their values are placeholders. */
interface ClaimShape {
  candidate: CandidateKind;
  /**
   * How many more jobs than the first are wanted (0: none); a literal in the statement, as the
   * limits are: one statement per number of free slots a worker claims for.
   */
  more: number;
  /** Whether the worker names the job types it runs. */
  typed: boolean;
  /** A literal in the statement, not a placeholder (see claimSql). */
  installationLimit: number;
}

/** The claim's statements by shape, built once each: three per worker setting and number of free slots. */
const claimStatements = new PrebuiltStatements(claimSql, 200);

/** The claim's one statement for a shape, its values as placeholders (the values of claimJobs). */
function claimSql(shape: ClaimShape): SQL {
  const value = placeholder;
  const now = sql`${value("now")}::timestamptz`;
  // The limit goes into the statement as a literal, not a parameter: behind a backlog of
  // installations at their limit, PostgreSQL's generic plan for `running_count < $n` guessed a
  // third of the installations and looked up each one's queue, so it planned the claim anew on
  // every call (pg_stat_statements: 1.25 ms of planning on a 1.5 ms claim); with the number it
  // reads the column's statistics and keeps the plan. The limit is one per worker, so this is
  // one more statement text per worker, not per claim.
  const limit = sql.raw(String(shape.installationLimit));
  // The front's sizes, and how many more jobs are wanted, are literals too: PostgreSQL's generic
  // plan takes `limit $n` for a tenth of the rows, so behind a long history (1,000,000 finished
  // jobs, 3,000 queued) it costed the front at 290 rows (and one installation's next jobs at 99
  // instead of 9), found itself dearer than planning each claim for its values, and planned every
  // claim anew (bench:queue: 1.9 ms of planning at each bind; the history case -26 %).
  const front = sql.raw(String(FRONT));
  const frontPerInstallation = sql.raw(String(FRONT_PER_INSTALLATION));
  const typeFilter = (alias: string) =>
    shape.typed ? sql`and ${sql.raw(alias)}.job_type = any(${value("jobTypes")}::text[])` : sql``;
  const typeLimits = sql`${value("typeLimits")}::jsonb`;
  const typeLimit = (jobType: SQL) => sql`coalesce((${typeLimits} ->> ${jobType})::int, ${limit})`;
  const runningOfType = (jobType: SQL) => sql`coalesce((i.running_by_type ->> ${jobType})::int, 0)`;
  // Both limits, read from an installation row `i` for a job type.
  const underLimits = (jobType: SQL) =>
    sql`i.running_count < ${limit} and ${runningOfType(jobType)} < ${typeLimit(jobType)}`;
  // Queued, not held, and due, for the jobs row under `alias`.
  const due = (alias: string) => {
    const job = sql.raw(alias);
    return sql`${job}.status = 'queued' and ${job}.hold is null and (${job}.run_after is null or ${job}.run_after <= ${now})`;
  };
  const candidates: Record<CandidateKind, SQL> = {
    // The usual case: the oldest claimable job among the first jobs of the queue, read in queue
    // order up to the FRONT-th (one index range). Not by joining the front back to jobs: with the
    // queue's statistics from a quiet moment (no queued jobs when the table was analyzed), the
    // planner scanned the whole queue once per front row (bench:queue: 30 ms a claim with 3,000
    // queued behind 1,000,000 finished jobs).
    front: sql`
    front as (
      select q.id, q.queued_at from jobs q where ${due("q")} ${typeFilter("q")}
      order by q.queued_at, q.id limit ${front}
    ), last_of_front as (
      select f.queued_at, f.id from front f order by f.queued_at desc, f.id desc limit 1
    ), candidate as (
      select j.id, j.installation_id, j.job_type, j.queued_at from jobs j
      join installations i on i.id = j.installation_id
      where ${due("j")} ${typeFilter("j")}
        and (j.queued_at, j.id) <= ((select queued_at from last_of_front), (select id from last_of_front))
        and i.suspended_at is null and i.deleted_at is null and ${underLimits(sql`j.job_type`)}
      order by j.queued_at, j.id
      limit 1
      for update of j skip locked
    )`,
    // When the front of the queue belongs to installations at their limit: the oldest job of each
    // installation under its limits (one probe of jobs_queued_for_claim per such installation).
    byInstallation: sql`
    candidate as (
      select j.id, j.installation_id, j.job_type, j.queued_at from installations i
      cross join lateral (
        select q.id, q.queued_at from jobs q
        where q.installation_id = i.id and ${due("q")} ${typeFilter("q")}
          and ${runningOfType(sql`q.job_type`)} < ${typeLimit(sql`q.job_type`)}
        order by q.queued_at, q.id limit ${frontPerInstallation}
      ) first
      join jobs j on j.id = first.id
      where i.suspended_at is null and i.deleted_at is null and i.running_count < ${limit} and ${due("j")}
      order by first.queued_at, first.id
      limit 1
      for update of j skip locked
    )`,
    // The announced job, when it is due and its installation under its limits (one primary-key probe).
    announced: sql`
    candidate as (
      select j.id, j.installation_id, j.job_type, j.queued_at from jobs j
      join installations i on i.id = j.installation_id
      where j.id = ${value("first")} and ${due("j")} ${typeFilter("j")}
        and i.suspended_at is null and i.deleted_at is null and ${underLimits(sql`j.job_type`)}
      for update of j skip locked
    )`,
  };
  // The candidate's installation's next due jobs after it (one range of jobs_queued_for_claim), when
  // more are wanted; the n-th of a type needs n free slots of its type, the n-th in all n free slots.
  const more =
    shape.more > 0
      ? sql`
    select q.id, q.installation_id, q.job_type, q.queued_at from jobs q
    where q.installation_id = (select installation_id from candidate)
      and (q.installation_id, q.queued_at, q.id) > (select installation_id, queued_at, id from candidate)
      and ${due("q")} ${typeFilter("q")}
    order by q.installation_id, q.queued_at, q.id limit ${sql.raw(String(shape.more))}
    for update of q skip locked`
      : sql`select id, installation_id, job_type, queued_at from candidate where false`;
  // `front_empty`: nothing due is queued at all (no need to ask installation by installation).
  const frontEmpty = shape.candidate === "front" ? sql`not exists (select from front)` : sql`false`;
  // `more_due`: whether a due job this worker runs (claimable or not) is left besides those claimed
  // here. Never a look at the whole table: with the statistics of a busy moment (half the table
  // queued when it was analyzed) PostgreSQL ran `exists (… due …)` as a sequential scan that took
  // the first queued row in the table's physical order, behind the whole history (bench:queue: 1 ms
  // of a 2 ms claim after 12,000 finished jobs, growing with them).
  const moreDue: Record<CandidateKind, SQL> = {
    // The front holds the first due jobs in queue order: one not claimed here, or a full front.
    front: sql`(exists (select from front f where not exists (select from chosen where chosen.id = f.id))
      or (select count(*) from front) >= ${front})`,
    // This claim runs because the front's due jobs were all at their limits a moment ago: say yes;
    // at worst the next claim finds nothing and the worker waits for a notice or the poll.
    byInstallation: sql`true`,
    // An idle or drained worker, so a short queue: its first jobs in queue order, up to the first
    // one not claimed here (ORDER BY and LIMIT keep the planner on the queue's index; inside
    // EXISTS it would drop them).
    announced: sql`coalesce((
      select true from jobs q where ${due("q")} ${typeFilter("q")} and not exists (select from chosen where chosen.id = q.id)
      order by q.queued_at, q.id limit 1
    ), false)`,
  };
  return sql`
    with ${candidates[shape.candidate]}, slot as (
      select i.id, i.running_count, i.running_by_type from installations i join candidate c on c.installation_id = i.id
      where ${underLimits(sql`c.job_type`)}
      for no key update of i
    ), more as (${more}), of_type as (
      select these.id, these.queued_at from (
        select these.*, row_number() over (partition by these.job_type order by these.queued_at, these.id) as n_of_type
        from (select * from candidate union all select * from more) these
      ) these, slot i
      where ${runningOfType(sql`these.job_type`)} + these.n_of_type <= ${typeLimit(sql`these.job_type`)}
    ), chosen as (
      select ranked.id from (
        select of_type.id, row_number() over (order by of_type.queued_at, of_type.id) as n from of_type
      ) ranked, slot i
      where i.running_count + ranked.n <= ${limit}
    ), moved as (
      update jobs set
        status = 'running', attempt = attempt + 1, worker_id = ${value("workerId")},
        started_at = ${now}, heartbeat_at = ${now}, updated_at = ${now},
        lease_expires_at = ${now} + ${value("leaseSeconds")} * interval '1 second',
        deadline_at = ${now} + timeout_seconds * interval '1 second',
        progress = null, progress_message = null, failure_code = null, failure_message = null, run_after = null
      from chosen
      where jobs.id = chosen.id
      returning jobs.*
    ),
    ${recordMoves({
      from: "queued",
      to: "running",
      at: now,
      actor: value("actor"),
      code: "CLAIMED",
      data: sql`jsonb_build_object('attempt', attempt)`,
    })}
    select ${frontEmpty} as front_empty, ${moreDue[shape.candidate]} as more_due, c.id as candidate_id, moved.*
    from (select 1) one left join candidate c on true left join moved on true
    order by moved.queued_at, moved.id`;
}
