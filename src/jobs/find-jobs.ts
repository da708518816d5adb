import { and, asc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { type JobEventRow, type JobLogRow, type JobRow, jobEvents, jobLogs, jobs } from "../db/schema.js";
import { ACTIVE_STATES } from "./states.js";

/**
 * Whole job rows where `condition` (then `tail`: order, limit, lock), read with `select *` and
 * mapped as drizzle maps them. drizzle's `select()` spells out and maps the table's 60 columns
 * through its query builder on every call: 330 µs of CPU for one job by id, against 13 µs here
 * (measured with a driver that answers at once), on the paths every trigger and run take.
 */
export async function selectJobs(db: Database, condition: SQL | undefined, tail: SQL = sql``): Promise<JobRow[]> {
  const rows = await queryRows(db, sql`select * from jobs where ${condition ?? sql`true`} ${tail}`);
  return rows.map((row) => mapTableRow(jobs, row));
}

export async function getJob(db: Database, id: number): Promise<JobRow | undefined> {
  const [row] = await selectJobs(db, sql`id = ${id}`);
  return row;
}

export interface TargetRef {
  repositoryId: number;
  targetNumber: number;
}

/** Every job ever recorded on an issue/PR, newest first (index `jobs_by_target`). */
export async function findJobsForTarget(db: Database, target: TargetRef, limit = 100): Promise<JobRow[]> {
  return selectJobs(
    db,
    sql`repository_id = ${target.repositoryId} and target_number = ${target.targetNumber}`,
    sql`order by id desc limit ${limit}`,
  );
}

/** The active jobs on an issue/PR (at most one per job type), optionally of one job type. */
export async function findActiveJobs(db: Database, target: TargetRef, jobType?: string): Promise<JobRow[]> {
  const conditions = [
    eq(jobs.repositoryId, target.repositoryId),
    eq(jobs.targetNumber, target.targetNumber),
    inArray(jobs.status, [...ACTIVE_STATES]),
  ];
  if (jobType) conditions.push(eq(jobs.jobType, jobType));
  return selectJobs(db, and(...conditions), sql`order by id`);
}

/** A job's timeline, oldest first. */
export async function listJobEvents(db: Database, jobId: number): Promise<JobEventRow[]> {
  return db.select().from(jobEvents).where(eq(jobEvents.jobId, jobId)).orderBy(asc(jobEvents.id));
}

/** Active jobs of an installation, optionally only in some repositories (uninstall, repository removed). */
export async function findActiveJobsOfInstallation(
  db: Database,
  installationId: number,
  repositoryIds?: readonly number[],
): Promise<JobRow[]> {
  const conditions = [eq(jobs.installationId, installationId), inArray(jobs.status, [...ACTIVE_STATES])];
  if (repositoryIds) conditions.push(inArray(jobs.repositoryId, [...repositoryIds]));
  return selectJobs(db, and(...conditions), sql`order by id`);
}

/** A job's log lines after `afterSeq` (for live tailing), in order. */
export async function listJobLogs(db: Database, jobId: number, afterId = 0, limit = 1000): Promise<JobLogRow[]> {
  return db
    .select()
    .from(jobLogs)
    .where(and(eq(jobLogs.jobId, jobId), gt(jobLogs.id, afterId)))
    .orderBy(asc(jobLogs.id))
    .limit(limit);
}

/** Active jobs held `blocked_by` this job. */
export async function findBlockedBy(db: Database, jobId: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.blockedBy, jobId), eq(jobs.hold, "blocked_by"), inArray(jobs.status, [...ACTIVE_STATES])));
}

/** Jobs whose result is this pull request (index `jobs_by_result_url`). */
export async function findJobsByResultUrl(db: Database, repositoryId: number, url: string): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.resultUrl, url), eq(jobs.repositoryId, repositoryId)));
}

/** How many events with this code a job's timeline holds. */
export async function countJobEvents(db: Database, jobId: number, code: string): Promise<number> {
  const rows = await db
    .select({ id: jobEvents.id })
    .from(jobEvents)
    .where(and(eq(jobEvents.jobId, jobId), eq(jobEvents.code, code)));
  return rows.length;
}

/** The job a check run of labelrun's belongs to (`jobs_by_check_run`). */
export async function findJobByCheckRun(
  db: Database,
  repositoryId: number,
  checkRunId: number,
): Promise<JobRow | undefined> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.checkRunId, checkRunId), eq(jobs.repositoryId, repositoryId)))
    .limit(1);
  return row;
}
