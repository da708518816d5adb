import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";

const DAY_MS = 86_400_000;
/** A day is rolled up only this long after it ended: a finish computed before midnight may commit just after. */
const SETTLE_MS = 3600_000;

/**
 * The duration bucket of `seconds` (an SQL expression): 0 below one second, then 10 % wide
 * buckets (bucket b holds [1.1^(b-1), 1.1^b) seconds), at most 250 (beyond 20 years).
 */
export function durationBucket(seconds: ReturnType<typeof sql>) {
  return sql`least(250, case when ${seconds} < 1 then 0 else 1 + floor(ln(${seconds}) / ln(1.1))::int end)`;
}

/** A bucket's value for a percentile: the geometric middle of its range, in whole seconds. */
export function bucketSeconds(bucket: number): number {
  return bucket <= 0 ? 0 : Math.round(1.1 ** (bucket - 0.5));
}

export const RUN_SECONDS = sql`extract(epoch from finished_at - started_at)`;
export const WAIT_SECONDS = sql`extract(epoch from started_at - queued_at)`;

/** The first day not rolled up yet ('YYYY-MM-DD'), or null when nothing is (and no job ever finished). */
export async function rollupFrontier(db: Database): Promise<string | null> {
  const [row] = await queryRows<{ frontier: string | null }>(
    db,
    sql`select coalesce(
          (select to_char(max(day) + 1, 'YYYY-MM-DD') from job_rollup_days),
          (select to_char(min(finished_at) at time zone 'UTC', 'YYYY-MM-DD') from jobs where finished_at is not null)
        ) as frontier`,
  );
  return row?.frontier ?? null;
}

/**
 * Rolls up the days that are over, oldest first, at most `maxDays` per call: each day's
 * outcomes, repositories and duration buckets in one transaction with the day's mark, so a
 * day is rolled up once (a second process's insert of the mark finds it and stops). Returns
 * how many days were rolled up.
 */
export async function rollUpJobDays(db: Database, params: { now: Date; maxDays: number }): Promise<number> {
  const closedBefore = new Date(params.now.getTime() - SETTLE_MS).toISOString().slice(0, 10);
  let rolled = 0;
  while (rolled < params.maxDays) {
    const day = await rollupFrontier(db);
    if (!day || day >= closedBefore) break;
    const from = `${day}T00:00:00Z`;
    const to = new Date(Date.parse(from) + DAY_MS).toISOString();
    const window = sql`finished_at >= ${from}::timestamptz and finished_at < ${to}::timestamptz`;
    const done = await db.transaction(async (tx) => {
      // The mark first: another sweeper that got here before holds it, and this transaction stops.
      const marked = await queryRows<{ day: string }>(
        tx,
        sql`insert into job_rollup_days (day, rolled_at) values (${day}::date, ${params.now.toISOString()}::timestamptz)
            on conflict do nothing returning day`,
      );
      if (!marked.length) return false;
      await tx.execute(sql`
        insert into job_day_outcomes (day, installation_id, job_type, status, failure_code, jobs, duplicates, cost_usd)
        select ${day}::date, installation_id, job_type, status, coalesce(failure_code::text, ''),
               count(*) filter (where duplicate_of is null), count(*) filter (where duplicate_of is not null),
               coalesce(sum(cost_usd), 0)
        from jobs where ${window}
        group by installation_id, job_type, status, failure_code`);
      await tx.execute(sql`
        insert into job_day_repositories (day, installation_id, repository_full_name, jobs, completed, failed, cost_usd)
        select ${day}::date, installation_id, repository_full_name, count(*),
               count(*) filter (where status = 'completed'), count(*) filter (where status in ('failed', 'abandoned')),
               coalesce(sum(cost_usd), 0)
        from jobs where ${window} and duplicate_of is null
        group by installation_id, repository_full_name`);
      await tx.execute(sql`
        insert into job_day_durations (day, installation_id, job_type, kind, bucket, count)
        select ${day}::date, installation_id, job_type, kind, bucket, count(*)
        from (select installation_id, job_type, 'run' as kind, ${durationBucket(RUN_SECONDS)} as bucket
              from jobs where ${window} and duplicate_of is null and started_at is not null
              union all
              select installation_id, job_type, 'wait', ${durationBucket(WAIT_SECONDS)}
              from jobs where ${window} and duplicate_of is null and started_at is not null and queued_at is not null) runs
        group by installation_id, job_type, kind, bucket`);
      return true;
    });
    if (!done) break;
    rolled++;
  }
  return rolled;
}
