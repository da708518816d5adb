import { and, eq, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { installations, jobs } from "../db/schema.js";
import type { JobFilter } from "./list-jobs.js";

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
    /** Seconds from start to end of the last run, and from queued to started. */
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

const DAY_MS = 86_400_000;
const FAILED = sql`status in ('failed', 'abandoned')`;

/**
 * The insight figures for jobs that ended in `[until - days, until)`, filtered like the
 * board. Two statements over the rows the `jobs_by_finished_at` index finds: one pass of
 * grouping sets for the counts and costs, one for the percentiles.
 */
export async function jobInsights(
  db: Database,
  params: { until: Date; days: number; filter?: Omit<JobFilter, "statuses" | "duplicates"> },
): Promise<JobInsights> {
  const until = new Date(Math.ceil(params.until.getTime() / DAY_MS) * DAY_MS);
  const since = new Date(until.getTime() - params.days * DAY_MS);
  const where = conditions(db, since, until, params.filter ?? {});
  const day = sql`to_char(date_trunc('day', finished_at at time zone 'UTC'), 'YYYY-MM-DD')`;

  const groups = await queryRows<{
    g_day: number;
    g_repo: number;
    g_type: number;
    g_code: number;
    day: string | null;
    status: string | null;
    repository: string | null;
    job_type: string | null;
    code: string | null;
    n: string;
    completed: string;
    failed: string;
    duplicates: string;
    cost: string | null;
  }>(
    db,
    sql`select grouping(${day}, status) as g_day, grouping(repository_full_name) as g_repo,
               grouping(job_type) as g_type, grouping(failure_code) as g_code,
               ${day} as day, status, repository_full_name as repository, job_type, failure_code as code,
               count(*) filter (where duplicate_of is null) as n,
               count(*) filter (where status = 'completed') as completed,
               count(*) filter (where ${FAILED}) as failed,
               count(*) filter (where duplicate_of is not null) as duplicates,
               sum(cost_usd) as cost
        from jobs where ${where}
        group by grouping sets ((${day}, status), (repository_full_name), (job_type), (failure_code), ())`,
  );
  const percentiles = await queryRows<{
    job_type: string | null;
    d50: number | null;
    d90: number | null;
    w50: number | null;
    w90: number | null;
  }>(
    db,
    sql`select job_type,
               percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at)) as d50,
               percentile_cont(0.9) within group (order by extract(epoch from finished_at - started_at)) as d90,
               percentile_cont(0.5) within group (order by extract(epoch from started_at - queued_at)) as w50,
               percentile_cont(0.9) within group (order by extract(epoch from started_at - queued_at)) as w90
        from jobs where ${where} and duplicate_of is null and started_at is not null
        group by grouping sets ((), (job_type))`,
  );
  return shape(since, until, params.days, groups, percentiles);
}

function conditions(db: Database, since: Date, until: Date, filter: Omit<JobFilter, "statuses" | "duplicates">): SQL {
  const parts: SQL[] = [gte(jobs.finishedAt, since), lt(jobs.finishedAt, until)];
  if (filter.installationId !== undefined) parts.push(eq(jobs.installationId, filter.installationId));
  if (filter.visibleInstallations) {
    parts.push(
      filter.visibleInstallations.length ? inArray(jobs.installationId, [...filter.visibleInstallations]) : sql`false`,
    );
  }
  if (filter.accountLogin) {
    parts.push(
      inArray(
        jobs.installationId,
        db
          .select({ id: installations.id })
          .from(installations)
          .where(eq(installations.accountLogin, filter.accountLogin)),
      ),
    );
  }
  if (filter.repositoryFullName) parts.push(eq(jobs.repositoryFullName, filter.repositoryFullName));
  if (filter.jobType) parts.push(eq(jobs.jobType, filter.jobType));
  if (filter.targetNumber !== undefined) parts.push(eq(jobs.targetNumber, filter.targetNumber));
  return and(...parts) as SQL;
}

type GroupRow = Awaited<ReturnType<typeof queryRows<Record<string, unknown>>>>[number];

function shape(
  since: Date,
  until: Date,
  days: number,
  groups: GroupRow[],
  percentiles: Array<{
    job_type: string | null;
    d50: number | null;
    d90: number | null;
    w50: number | null;
    w90: number | null;
  }>,
): JobInsights {
  const num = (value: unknown) => Number(value ?? 0);
  const seconds = (value: unknown) => (value === null || value === undefined ? null : Math.round(Number(value)));
  // grouping(a, b) is a bit mask: 3 when both are rolled up.
  const all = groups.find((g) => g.g_day === 3 && g.g_repo === 1 && g.g_type === 1 && g.g_code === 1);
  const byStatus = (status: string) =>
    groups.filter((g) => g.g_day === 0 && g.status === status).reduce((sum, g) => sum + num(g.n), 0);
  const totalsRow = percentiles.find((p) => p.job_type === null);
  const completed = byStatus("completed");
  const failed = byStatus("failed");
  const abandoned = byStatus("abandoned");
  const decided = completed + failed + abandoned;

  const dayRows = new Map<string, JobInsights["days"][number]>();
  for (let i = 0; i < days; i++) {
    const day = new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    dayRows.set(day, { day, completed: 0, failed: 0, cancelled: 0, abandoned: 0, costUsd: 0 });
  }
  for (const g of groups.filter((row) => row.g_day === 0)) {
    const row = dayRows.get(String(g.day));
    if (!row) continue;
    const status = String(g.status);
    if (status === "completed" || status === "failed" || status === "cancelled" || status === "abandoned") {
      row[status] += num(g.n);
    }
    row.costUsd += num(g.cost);
  }
  return {
    since,
    until,
    totals: {
      finished: num(all?.n),
      completed,
      failed,
      cancelled: byStatus("cancelled"),
      abandoned,
      successRate: decided ? completed / decided : null,
      costUsd: num(all?.cost),
      duplicates: num(all?.duplicates),
      durationP50: seconds(totalsRow?.d50),
      durationP90: seconds(totalsRow?.d90),
      waitP50: seconds(totalsRow?.w50),
      waitP90: seconds(totalsRow?.w90),
    },
    days: [...dayRows.values()],
    repositories: groups
      .filter((g) => g.g_repo === 0 && num(g.n) > 0)
      .map((g) => ({
        repository: String(g.repository),
        jobs: num(g.n),
        completed: num(g.completed),
        failed: num(g.failed),
        costUsd: num(g.cost),
      }))
      .sort((a, b) => b.jobs - a.jobs || a.repository.localeCompare(b.repository))
      .slice(0, 10),
    jobTypes: groups
      .filter((g) => g.g_type === 0 && num(g.n) > 0)
      .map((g) => ({
        jobType: String(g.job_type),
        jobs: num(g.n),
        completed: num(g.completed),
        costUsd: num(g.cost),
        durationP50: seconds(percentiles.find((p) => p.job_type === g.job_type)?.d50),
      }))
      .sort((a, b) => b.jobs - a.jobs || a.jobType.localeCompare(b.jobType)),
    failureCodes: groups
      .filter((g) => g.g_code === 0 && g.code !== null && num(g.failed) > 0)
      .map((g) => ({ code: String(g.code), count: num(g.failed) }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
  };
}
