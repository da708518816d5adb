import { sql } from "drizzle-orm";
import type { Quota, Quotas } from "../config/job-types.js";
import { type Database, queryRows } from "../db/client.js";
import type { JobRow } from "../db/schema.js";

/** The calendar month (UTC) `now` is in: quotas count from its start and reset at its end. */
export function monthOf(now: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end };
}

/** What was spent this month: jobs that reached the queue, and the cost of jobs that ended. */
export interface Spending {
  jobs: number;
  costUsd: number;
}

/** A quota a job would pass, in words and figures. */
export interface QuotaReached {
  scope: "installation" | "repository";
  kind: "jobs" | "cost";
  limit: number;
  spent: number;
  resetsAt: Date;
  /** "the installation's 500 jobs this month (500 used); resets 2026-12-01 00:00 UTC". */
  reason: string;
}

/** This month's spending of an installation, or of one of its repositories. */
export async function spendingThisMonth(
  db: Database,
  scope: { installationId: number; repositoryFullName?: string },
  now: Date,
  excludeJobId?: number,
): Promise<Spending> {
  const { start } = monthOf(now);
  const since = start.toISOString();
  const repository = scope.repositoryFullName ? sql`and repository_full_name = ${scope.repositoryFullName}` : sql``;
  const [row] = await queryRows<{ jobs: string | number; cost: string | number | null }>(
    db,
    sql`select count(*) filter (where queued_at >= ${since}::timestamptz and duplicate_of is null and id <> ${excludeJobId ?? 0}) as jobs,
               coalesce(sum(cost_usd) filter (where finished_at >= ${since}::timestamptz), 0) as cost
        from jobs
        where installation_id = ${scope.installationId} ${repository}
          and (queued_at >= ${since}::timestamptz or finished_at >= ${since}::timestamptz)`,
  );
  return { jobs: Number(row?.jobs ?? 0), costUsd: Number(row?.cost ?? 0) };
}

/** The installation's quota (its override by id or account login, else the default) and the repository's own. */
export function quotasFor(
  quotas: Quotas | undefined,
  job: { installationId: number; repositoryFullName: string },
  accountLogin: string | null,
): { installation: Quota | null; repository: Quota | null } {
  if (!quotas) return { installation: null, repository: null };
  const installation =
    quotas.installations[String(job.installationId)] ??
    (accountLogin ? quotas.installations[accountLogin] : undefined) ??
    quotas.default ??
    null;
  return { installation, repository: quotas.repositories[job.repositoryFullName] ?? null };
}

/**
 * The first quota starting this job would pass, or null: jobs this month (this one included)
 * and cost this month, for the installation and for the repository. Read from the database,
 * so every process agrees.
 */
export async function quotaReached(
  db: Database,
  quotas: Quotas | undefined,
  job: Pick<JobRow, "id" | "installationId" | "repositoryFullName">,
  accountLogin: string | null,
  now: Date,
): Promise<QuotaReached | null> {
  const applicable = quotasFor(quotas, job, accountLogin);
  const { end } = monthOf(now);
  const resets = `${end.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  for (const scope of ["installation", "repository"] as const) {
    const quota = applicable[scope];
    if (!quota) continue;
    const spent = await spendingThisMonth(
      db,
      {
        installationId: job.installationId,
        repositoryFullName: scope === "repository" ? job.repositoryFullName : undefined,
      },
      now,
      job.id,
    );
    const whose = scope === "installation" ? "the installation's" : `${job.repositoryFullName}'s`;
    if (quota.jobs_per_month !== undefined && spent.jobs + 1 > quota.jobs_per_month) {
      return {
        scope,
        kind: "jobs",
        limit: quota.jobs_per_month,
        spent: spent.jobs,
        resetsAt: end,
        reason: `${whose} quota of ${quota.jobs_per_month} jobs this month is used (${spent.jobs} ran); it resets ${resets}`,
      };
    }
    if (quota.cost_usd_per_month !== undefined && spent.costUsd >= quota.cost_usd_per_month) {
      return {
        scope,
        kind: "cost",
        limit: quota.cost_usd_per_month,
        spent: spent.costUsd,
        resetsAt: end,
        reason: `${whose} quota of $${quota.cost_usd_per_month.toFixed(2)} this month is spent ($${spent.costUsd.toFixed(2)}); it resets ${resets}`,
      };
    }
  }
  return null;
}

/** This month's spending per installation and per repository (the board, `/api/usage`, `labelrun usage`, `/metrics`). */
export async function usageThisMonth(db: Database, now: Date, visibleInstallations?: readonly number[]) {
  const { start, end } = monthOf(now);
  const since = start.toISOString();
  const scope = visibleInstallations
    ? visibleInstallations.length
      ? sql`and jobs.installation_id in (${sql.join(
          visibleInstallations.map((id) => sql`${id}`),
          sql`, `,
        )})`
      : sql`and false`
    : sql``;
  const rows = await queryRows<{
    installation_id: string | number;
    account_login: string | null;
    repository_full_name: string | null;
    jobs: string | number;
    cost: string | number | null;
  }>(
    db,
    sql`select jobs.installation_id, installations.account_login, jobs.repository_full_name,
               count(*) filter (where queued_at >= ${since}::timestamptz and duplicate_of is null) as jobs,
               coalesce(sum(cost_usd) filter (where finished_at >= ${since}::timestamptz), 0) as cost
        from jobs left join installations on installations.id = jobs.installation_id
        where (queued_at >= ${since}::timestamptz or finished_at >= ${since}::timestamptz) ${scope}
        group by grouping sets ((jobs.installation_id, installations.account_login), (jobs.installation_id, installations.account_login, jobs.repository_full_name))
        order by 1, 3 nulls first`,
  );
  const figures = (row: (typeof rows)[number]) => ({ jobs: Number(row.jobs), costUsd: Number(row.cost ?? 0) });
  return {
    month: start.toISOString().slice(0, 7),
    resetsAt: end,
    installations: rows
      .filter((row) => row.repository_full_name === null)
      .map((row) => ({
        installationId: Number(row.installation_id),
        accountLogin: row.account_login,
        ...figures(row),
      })),
    repositories: rows
      .filter((row) => row.repository_full_name !== null)
      .map((row) => ({
        installationId: Number(row.installation_id),
        repository: String(row.repository_full_name),
        ...figures(row),
      })),
  };
}

export type Usage = Awaited<ReturnType<typeof usageThisMonth>>;
