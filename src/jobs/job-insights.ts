import { and, eq, type SQL, sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { installations } from "../db/schema.js";
import type { JobFilter } from "./list-jobs.js";
import { bucketSeconds, durationBucket, RUN_SECONDS, rollupFrontier, WAIT_SECONDS } from "./roll-up-job-days.js";

/** How the fleet did over a window of days: what the insight pages draw. Duplicates are folded. */
export interface JobInsights {
  since: Date;
  until: Date;
  totals: {
    /** Jobs that ended in the window (duplicate triggers not counted). */
    finished: number;
    completed: number;
    failed: number;
    cancelled: number;
    abandoned: number;
    /** completed / (completed + failed + abandoned); null when none of those. */
    successRate: number | null;
    costUsd: number;
    /** Duplicate triggers ignored in the window (folded into one number). */
    duplicates: number;
    /** Seconds from start to end of the last run, and from queued to started (nearest rank, 10 % buckets). */
    durationP50: number | null;
    durationP90: number | null;
    waitP50: number | null;
    waitP90: number | null;
  };
  /** One row per day (UTC) of the window, empty days included. */
  days: Array<{
    day: string;
    completed: number;
    failed: number;
    cancelled: number;
    abandoned: number;
    costUsd: number;
  }>;
  /** The busiest repositories first (at most 10). */
  repositories: Array<{ repository: string; jobs: number; completed: number; failed: number; costUsd: number }>;
  jobTypes: Array<{ jobType: string; jobs: number; completed: number; costUsd: number; durationP50: number | null }>;
  failureCodes: Array<{ code: string; count: number }>;
}

export type InsightFilter = Omit<JobFilter, "statuses" | "duplicates">;

interface OutcomeRow {
  day: string;
  job_type: string;
  status: string;
  code: string;
  jobs: string | number;
  duplicates: string | number;
  cost: string | number;
}
interface RepositoryRow {
  repository: string;
  jobs: string | number;
  completed: string | number;
  failed: string | number;
  cost: string | number;
}
interface DurationRow {
  job_type: string;
  kind: string;
  bucket: number;
  count: string | number;
}

const DAY_MS = 86_400_000;
const day = (at: Date) => at.toISOString().slice(0, 10);

/**
 * The insight figures for jobs that ended in the `days` UTC days up to `until`'s, filtered
 * like the board. Days already over are read from the daily rollups (`rollUpJobDays`: a few
 * rows per day), the rest from `jobs` through `jobs_by_finished_at`; a repository or issue
 * filter reads `jobs` for the whole window (few rows, by their own indexes).
 */
export async function jobInsights(
  db: Database,
  params: { until: Date; days: number; filter?: InsightFilter },
): Promise<JobInsights> {
  const filter = params.filter ?? {};
  const until = new Date(Math.floor(params.until.getTime() / DAY_MS) * DAY_MS + DAY_MS);
  const since = new Date(until.getTime() - params.days * DAY_MS);
  const rollupsServe = !filter.repositoryFullName && filter.targetNumber === undefined;
  const frontier = rollupsServe ? await rollupFrontier(db) : null;
  const rolledEnd = frontier
    ? new Date(Math.min(until.getTime(), Math.max(since.getTime(), Date.parse(`${frontier}T00:00:00Z`))))
    : since;

  const [outcomes, repositories, durations] = await Promise.all([
    Promise.all([rolledOutcomes(db, since, rolledEnd, filter), rawOutcomes(db, rolledEnd, until, filter)]),
    Promise.all([
      // The repository rollup has no job type: with that filter, the window is read from `jobs`.
      filter.jobType ? rawRepositories(db, since, rolledEnd, filter) : rolledRepositories(db, since, rolledEnd, filter),
      rawRepositories(db, rolledEnd, until, filter),
    ]),
    Promise.all([rolledDurations(db, since, rolledEnd, filter), rawDurations(db, rolledEnd, until, filter)]),
  ]);
  return shape(since, until, params.days, outcomes.flat(), repositories.flat(), durations.flat());
}

/** The board's filters on `jobs` or a rollup table (both have `installation_id` and `job_type`). */
function filters(db: Database, filter: InsightFilter, options: { jobType: boolean; raw: boolean }): SQL[] {
  const parts: SQL[] = [];
  if (filter.installationId !== undefined) parts.push(sql`installation_id = ${filter.installationId}`);
  if (filter.visibleInstallations) {
    parts.push(
      filter.visibleInstallations.length
        ? sql`installation_id in (${sql.join(
            filter.visibleInstallations.map((id) => sql`${id}`),
            sql`, `,
          )})`
        : sql`false`,
    );
  }
  if (filter.accountLogin) {
    const ids = db
      .select({ id: installations.id })
      .from(installations)
      .where(eq(installations.accountLogin, filter.accountLogin));
    parts.push(sql`installation_id in (${ids})`);
  }
  if (options.jobType && filter.jobType) parts.push(sql`job_type = ${filter.jobType}`);
  if (options.raw && filter.repositoryFullName) parts.push(sql`repository_full_name = ${filter.repositoryFullName}`);
  if (options.raw && filter.targetNumber !== undefined) parts.push(sql`target_number = ${filter.targetNumber}`);
  return parts;
}

function rawWhere(db: Database, from: Date, to: Date, filter: InsightFilter): SQL {
  return and(
    sql`finished_at >= ${from.toISOString()}::timestamptz`,
    sql`finished_at < ${to.toISOString()}::timestamptz`,
    ...filters(db, filter, { jobType: true, raw: true }),
  ) as SQL;
}

function rolledWhere(db: Database, from: Date, to: Date, filter: InsightFilter, jobType = true): SQL {
  return and(
    sql`day >= ${day(from)}::date`,
    sql`day < ${day(to)}::date`,
    ...filters(db, filter, { jobType, raw: false }),
  ) as SQL;
}

async function rawOutcomes(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<OutcomeRow[]> {
  if (from >= to) return [];
  return queryRows<OutcomeRow>(
    db,
    sql`select to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD') as day, job_type, status::text as status,
               coalesce(failure_code::text, '') as code,
               count(*) filter (where duplicate_of is null) as jobs,
               count(*) filter (where duplicate_of is not null) as duplicates,
               coalesce(sum(cost_usd), 0) as cost
        from jobs where ${rawWhere(db, from, to, filter)}
        group by 1, 2, 3, 4`,
  );
}

async function rolledOutcomes(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<OutcomeRow[]> {
  if (from >= to) return [];
  return queryRows<OutcomeRow>(
    db,
    sql`select to_char(day, 'YYYY-MM-DD') as day, job_type, status::text as status, failure_code as code,
               sum(jobs) as jobs, sum(duplicates) as duplicates, sum(cost_usd) as cost
        from job_day_outcomes where ${rolledWhere(db, from, to, filter)}
        group by 1, 2, 3, 4`,
  );
}

async function rawRepositories(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<RepositoryRow[]> {
  if (from >= to) return [];
  return queryRows<RepositoryRow>(
    db,
    sql`select repository_full_name as repository, count(*) as jobs,
               count(*) filter (where status = 'completed') as completed,
               count(*) filter (where status in ('failed', 'abandoned')) as failed,
               coalesce(sum(cost_usd), 0) as cost
        from jobs where ${rawWhere(db, from, to, filter)} and duplicate_of is null
        group by 1`,
  );
}

async function rolledRepositories(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<RepositoryRow[]> {
  if (from >= to) return [];
  return queryRows<RepositoryRow>(
    db,
    sql`select repository_full_name as repository, sum(jobs) as jobs, sum(completed) as completed,
               sum(failed) as failed, sum(cost_usd) as cost
        from job_day_repositories where ${rolledWhere(db, from, to, filter, false)}
        group by 1`,
  );
}

async function rawDurations(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<DurationRow[]> {
  if (from >= to) return [];
  const where = sql`${rawWhere(db, from, to, filter)} and duplicate_of is null and started_at is not null`;
  return queryRows<DurationRow>(
    db,
    sql`select job_type, kind, bucket, count(*) as count
        from (select job_type, 'run' as kind, ${durationBucket(RUN_SECONDS)} as bucket from jobs where ${where}
              union all
              select job_type, 'wait', ${durationBucket(WAIT_SECONDS)} from jobs where ${where} and queued_at is not null) runs
        group by 1, 2, 3`,
  );
}

async function rolledDurations(db: Database, from: Date, to: Date, filter: InsightFilter): Promise<DurationRow[]> {
  if (from >= to) return [];
  return queryRows<DurationRow>(
    db,
    sql`select job_type, kind, bucket, sum(count) as count
        from job_day_durations where ${rolledWhere(db, from, to, filter)}
        group by 1, 2, 3`,
  );
}

/** The nearest-rank percentile of bucketed durations. */
function percentile(buckets: ReadonlyMap<number, number>, p: number): number | null {
  const total = [...buckets.values()].reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
    seen += buckets.get(bucket) ?? 0;
    if (seen >= rank) return bucketSeconds(bucket);
  }
  return null;
}

function shape(
  since: Date,
  until: Date,
  days: number,
  outcomes: OutcomeRow[],
  repositoryRows: RepositoryRow[],
  durations: DurationRow[],
): JobInsights {
  const num = (value: unknown) => Number(value ?? 0);
  const dayRows = new Map<string, JobInsights["days"][number]>();
  for (let i = 0; i < days; i++) {
    const key = day(new Date(since.getTime() + i * DAY_MS));
    dayRows.set(key, { day: key, completed: 0, failed: 0, cancelled: 0, abandoned: 0, costUsd: 0 });
  }
  const byStatus = new Map<string, number>();
  const types = new Map<string, { jobs: number; completed: number; costUsd: number }>();
  const codes = new Map<string, number>();
  let finished = 0;
  let duplicates = 0;
  let costUsd = 0;
  for (const row of outcomes) {
    const jobs = num(row.jobs);
    finished += jobs;
    duplicates += num(row.duplicates);
    costUsd += num(row.cost);
    byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + jobs);
    const dayRow = dayRows.get(row.day);
    if (dayRow) {
      if (
        row.status === "completed" ||
        row.status === "failed" ||
        row.status === "cancelled" ||
        row.status === "abandoned"
      ) {
        dayRow[row.status] += jobs;
      }
      dayRow.costUsd += num(row.cost);
    }
    if (jobs) {
      const type = types.get(row.job_type) ?? { jobs: 0, completed: 0, costUsd: 0 };
      type.jobs += jobs;
      if (row.status === "completed") type.completed += jobs;
      type.costUsd += num(row.cost);
      types.set(row.job_type, type);
    }
    if (row.code && (row.status === "failed" || row.status === "abandoned")) {
      codes.set(row.code, (codes.get(row.code) ?? 0) + jobs);
    }
  }
  const repositories = new Map<string, JobInsights["repositories"][number]>();
  for (const row of repositoryRows) {
    const repo = repositories.get(row.repository) ?? {
      repository: row.repository,
      jobs: 0,
      completed: 0,
      failed: 0,
      costUsd: 0,
    };
    repo.jobs += num(row.jobs);
    repo.completed += num(row.completed);
    repo.failed += num(row.failed);
    repo.costUsd += num(row.cost);
    repositories.set(row.repository, repo);
  }
  const histogram = (kind: string, jobType?: string) => {
    const buckets = new Map<number, number>();
    for (const row of durations) {
      if (row.kind !== kind || (jobType !== undefined && row.job_type !== jobType)) continue;
      buckets.set(Number(row.bucket), (buckets.get(Number(row.bucket)) ?? 0) + num(row.count));
    }
    return buckets;
  };
  const completed = byStatus.get("completed") ?? 0;
  const failed = byStatus.get("failed") ?? 0;
  const abandoned = byStatus.get("abandoned") ?? 0;
  const decided = completed + failed + abandoned;
  const runs = histogram("run");
  const waits = histogram("wait");
  return {
    since,
    until,
    totals: {
      finished,
      completed,
      failed,
      cancelled: byStatus.get("cancelled") ?? 0,
      abandoned,
      successRate: decided ? completed / decided : null,
      costUsd,
      duplicates,
      durationP50: percentile(runs, 0.5),
      durationP90: percentile(runs, 0.9),
      waitP50: percentile(waits, 0.5),
      waitP90: percentile(waits, 0.9),
    },
    days: [...dayRows.values()],
    repositories: [...repositories.values()]
      .filter((r) => r.jobs > 0)
      .sort((a, b) => b.jobs - a.jobs || a.repository.localeCompare(b.repository))
      .slice(0, 10),
    jobTypes: [...types]
      .map(([jobType, t]) => ({ jobType, ...t, durationP50: percentile(histogram("run", jobType), 0.5) }))
      .sort((a, b) => b.jobs - a.jobs || a.jobType.localeCompare(b.jobType)),
    failureCodes: [...codes]
      .map(([code, count]) => ({ code, count }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
  };
}
