import { and, desc, eq, inArray, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { installations, type JobRow, jobs } from "../db/schema.js";
import { AWAITING_REVIEW_SQL } from "./review-state.js";
import { ACTIVE_STATES, type JobState } from "./states.js";

export interface JobFilter {
  statuses?: readonly JobState[];
  installationId?: number;
  /** The installation's account (organisation or user login). */
  accountLogin?: string;
  repositoryFullName?: string;
  jobType?: string;
  targetNumber?: number;
  /** Duplicate triggers (never ran): left out, or alone. Default: included. */
  duplicates?: "exclude" | "only";
  /** Only jobs of these installations (what a person signed in with GitHub may see). */
  visibleInstallations?: readonly number[];
  /** Completed jobs whose pull request awaits review: only them (true), or all but them (false). */
  awaitingReview?: boolean;
}

export interface JobPageRequest extends JobFilter {
  /** Keyset cursor: only jobs with an id below this one (the previous page's `nextCursor`). */
  before?: number;
  limit?: number;
}

export interface JobPage {
  jobs: JobRow[];
  /** Pass as `before` for the next page; null on the last page. */
  nextCursor: number | null;
}

/**
 * Lists jobs newest first with keyset pagination (`id < cursor`), so page
 * 10,000 costs what page 1 costs. Status filters use `jobs_by_status_keyset`.
 */
export async function listJobs(db: Database, request: JobPageRequest = {}): Promise<JobPage> {
  const limit = Math.min(Math.max(request.limit ?? 50, 1), 500);
  const conditions: SQL[] = [];
  if (request.statuses?.length) conditions.push(inArray(jobs.status, [...request.statuses]));
  if (request.installationId !== undefined) conditions.push(eq(jobs.installationId, request.installationId));
  if (request.visibleInstallations) {
    conditions.push(
      request.visibleInstallations.length
        ? inArray(jobs.installationId, [...request.visibleInstallations])
        : sql`false`,
    );
  }
  if (request.accountLogin) {
    conditions.push(
      inArray(
        jobs.installationId,
        db
          .select({ id: installations.id })
          .from(installations)
          .where(eq(installations.accountLogin, request.accountLogin)),
      ),
    );
  }
  if (request.repositoryFullName) conditions.push(eq(jobs.repositoryFullName, request.repositoryFullName));
  if (request.jobType) conditions.push(eq(jobs.jobType, request.jobType));
  if (request.targetNumber !== undefined) conditions.push(eq(jobs.targetNumber, request.targetNumber));
  if (request.duplicates === "exclude") conditions.push(isNull(jobs.duplicateOf));
  if (request.duplicates === "only") conditions.push(isNotNull(jobs.duplicateOf));
  if (request.awaitingReview === true) conditions.push(sql.raw(`(${AWAITING_REVIEW_SQL})`));
  if (request.awaitingReview === false) conditions.push(sql.raw(`not coalesce((${AWAITING_REVIEW_SQL}), false)`));
  if (request.before !== undefined) conditions.push(lt(jobs.id, request.before));
  const rows = await db
    .select()
    .from(jobs)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(jobs.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { jobs: page, nextCursor: rows.length > limit && last ? last.id : null };
}

/** Active jobs by state and job type (the partial indexes make this cheap however long the history is). */
export async function countActiveJobs(
  db: Database,
): Promise<Array<{ status: JobState; jobType: string; count: number }>> {
  const rows = await db
    .select({ status: jobs.status, jobType: jobs.jobType, count: sql<string>`count(*)` })
    .from(jobs)
    .where(inArray(jobs.status, [...ACTIVE_STATES]))
    .groupBy(jobs.status, jobs.jobType);
  return rows.map((row) => ({ status: row.status, jobType: row.jobType, count: Number(row.count) }));
}
