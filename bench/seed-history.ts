import type { Sql } from "postgres";

/**
 * Seeds `finished` terminal jobs (one event each) and `active` jobs in every
 * waiting or running shape the sweeps look for, with set-based SQL.
 * Times are around `now` (ms) so the sweeps find work.
 */
export async function seedHistory(sql: Sql, options: { finished: number; active: number; now: Date }): Promise<void> {
  const now = options.now.toISOString();
  await sql`insert into installations (id, account_login, account_type, created_at, updated_at)
            values (1, 'bench', 'Organization', ${now}, ${now}) on conflict do nothing`;
  const batch = 200_000;
  for (let start = 0; start < options.finished; start += batch) {
    const end = Math.min(options.finished, start + batch);
    await sql`
      insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                        status, failure_code, attempt, created_at, updated_at, queued_at, started_at, finished_at, worker_id)
      select 1, 1000 + (g % 500), 'bench/repo-' || (g % 500), g, 'issue', case when g % 3 = 0 then 'review' else 'implement' end,
             (array['completed','failed','cancelled','abandoned'])[1 + g % 4]::job_status,
             case when g % 4 = 1 then 'AGENT_ERROR'::failure_code end, 1,
             ${now}::timestamptz - (g || ' minutes')::interval, ${now}::timestamptz - (g || ' minutes')::interval,
             ${now}::timestamptz - (g || ' minutes')::interval, ${now}::timestamptz - (g || ' minutes')::interval,
             ${now}::timestamptz - (g || ' minutes')::interval + interval '3 minutes', 'old-worker'
      from generate_series(${start + 1}::int, ${end}::int) g`;
  }
  await sql`insert into job_events (job_id, from_status, to_status, actor, at)
            select id, 'running', status, 'seed', finished_at from jobs where finished_at is not null`;
  // Active jobs: a fifth in each shape the sweeps look for.
  await sql`
    insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type, status,
                      attempt, max_attempts, created_at, updated_at, queued_at, run_after, lease_expires_at, deadline_at, worker_id)
    select 1, 5000 + g, 'bench/active-' || g, 1, 'issue', 'implement',
           (array['pending','queued','running','running','deferred'])[1 + g % 5]::job_status, 1, 3,
           ${now}::timestamptz - interval '1 minute', ${now}::timestamptz, ${now}::timestamptz - interval '1 minute',
           case when g % 5 = 4 then ${now}::timestamptz - interval '1 second' end,
           case when g % 5 = 2 then ${now}::timestamptz - interval '1 second' when g % 5 = 3 then ${now}::timestamptz + interval '1 minute' end,
           case when g % 5 = 3 then ${now}::timestamptz - interval '10 minutes' when g % 5 = 2 then ${now}::timestamptz + interval '1 hour' end,
           'w'
    from generate_series(1, ${options.active}::int) g`;
  // One status comment per finished target, a few of them behind their jobs.
  await sql`
    insert into status_comments (installation_id, repository_id, repository_full_name, target_number, comment_id,
                                 rendered_body, dirty_since, updated_at)
    select 1, repository_id, repository_full_name, target_number, id, 'body',
           case when id % 1000 = 0 then ${now}::timestamptz - interval '1 minute' end, ${now}
    from jobs where finished_at is not null
    on conflict do nothing`;
  // Settled, as autovacuum leaves a table between bulk loads: otherwise its insert-triggered
  // vacuum of the new rows runs during the measurement (a history run came out at −65 %).
  await sql`vacuum analyze`;
}

/**
 * Seeds `queued` jobs spread over `installations` new installations, each of which already has
 * as many running jobs as the bench's limit allows (100), all older than anything the bench
 * queues: a claim has to pass all of them to find the bench's own work.
 */
export async function seedBacklog(
  sql: Sql,
  options: { queued: number; installations: number; now: Date },
): Promise<void> {
  const now = options.now.toISOString();
  // Each backlog installation has 100 running jobs: its count is written once, with the jobs
  // inserted under the replica role (the count trigger does not fire). Counting them up through
  // the trigger moved each installation's row 100 times in one transaction, and left a table of
  // ~1,500 pages for 1,010 rows that every installation-by-installation claim then read
  // (EXPLAIN: 0.73 ms of a 2.7 ms claim) — a state that rows updated one job at a time, as in
  // a running system, do not reach.
  await sql.begin(async (tx) => {
    await tx`insert into installations (id, account_login, account_type, created_at, updated_at, running_count, running_by_type)
             select 100000 + g, 'backlog-' || g, 'Organization', ${now}, ${now}, 100, '{"noop": 100}'::jsonb
             from generate_series(1, ${options.installations}::int) g on conflict do nothing`;
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type, status,
                        attempt, created_at, updated_at, queued_at, started_at, worker_id)
      select 100000 + 1 + g % ${options.installations}::int, 900000 + g, 'backlog/repo-' || g, 1, 'issue', 'noop',
             case when g < ${options.installations * 100}::int then 'running' else 'queued' end::job_status, 0,
             ${now}::timestamptz - interval '1 hour', ${now}::timestamptz - interval '1 hour',
             ${now}::timestamptz - interval '1 hour' + (g || ' milliseconds')::interval,
             case when g < ${options.installations * 100}::int then ${now}::timestamptz end, 'backlog'
      from generate_series(0, ${options.installations * 100 + options.queued - 1}::int) g`;
  });
  const [wrong] = await sql`
    select count(*)::int as n from installations i
    where i.running_count <> (select count(*) from jobs j where j.installation_id = i.id and j.status = 'running')`;
  if (wrong?.n) throw new Error(`seedBacklog: ${wrong.n} installations with a wrong running count`);
  // Settled, as autovacuum leaves a table between bulk loads: otherwise its insert-triggered
  // vacuum of the new rows runs during the measurement (a history run came out at −65 %).
  await sql`vacuum analyze`;
}
