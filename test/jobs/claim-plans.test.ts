import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { claimJobs, claimNextJob } from "../../src/jobs/claim-next-job.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

describe.runIf(postgresAvailable)("a claim's plan on the real server", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db, 1) });

  it("behind a backlog of installations at their limit, the installation-by-installation claim keeps its plan instead of planning every call", async () => {
    // 300 installations at their limit of 2, each with older queued jobs than installation 1's:
    // every claim goes installation by installation.
    await seedInstallationsAtTheirLimit(database.db, 300);
    await queueBacklog(database.db, 300, 1_500);
    const claims = 12;
    for (let n = 1; n <= claims; n++) await makeJob(database.db, { status: "queued", targetNumber: n });
    await database.db.execute(sql`analyze`);

    const one = openPostgres({ url: database.url as string, max: 1 });
    try {
      for (let n = 1; n <= claims; n++) {
        const job = await claimNextJob(one.db, { workerId: "w", at: T0, leaseSeconds: 60, installationLimit: 2 });
        expect(job?.installationId).toBe(1);
        await transitionJob(one.db, { jobId: job?.id ?? 0, from: "running", to: "completed", at: T0, actor: "test" });
      }
      const plans = await plansOf(one, "%cross join lateral%");
      // PostgreSQL plans a prepared statement for its values five times, then keeps a generic plan
      // unless it estimates it dearer: planning this claim costs about as much as running it.
      expect(plans).toEqual({ generic: claims - 5, custom: 5 });
    } finally {
      await one.close();
    }
  });

  it("behind a long history with a queue, the front-of-queue claim keeps its plan instead of planning every call", async () => {
    // A history and 3,000 queued jobs of one installation: with the front's size and the number of
    // jobs wanted parameters, the generic plan took each `limit $n` for a tenth of the rows, looked
    // dearer than planning each claim for its values, and was never used (bench:queue: 1.9 ms of
    // planning at each bind behind 1,000,000 finished jobs, -26 %).
    await seedFinishedJobs(database.db, 200_000);
    await queueJobs(database.db, 3_000, "o/queue");
    await database.db.execute(sql`vacuum analyze jobs`);
    const claims = 12;
    const one = openPostgres({ url: database.url as string, max: 1 });
    try {
      for (let n = 1; n <= claims; n++) {
        const claimed = await claimJobs(
          one.db,
          { workerId: "w", at: T0, leaseSeconds: 60, installationLimit: 100 },
          10,
        );
        expect(claimed).toHaveLength(10);
        for (const job of claimed)
          await transitionJob(one.db, { jobId: job.id, from: "running", to: "completed", at: T0, actor: "test" });
      }
      expect(await plansOf(one, "%last_of_front%")).toEqual({ generic: claims - 5, custom: 5 });
    } finally {
      await one.close();
    }
  });

  it("with the queue's statistics from a quiet moment, a claim reads the queue at most once, not once per front row", async () => {
    // Analyzed with a long history and nothing queued; then a burst queues 2,000 jobs.
    await seedFinishedJobs(database.db, 20_000);
    await database.db.execute(sql`analyze jobs`);
    await queueJobs(database.db, 2_000, "o/burst");
    const { claimed, rowsRead } = await claimAndCountRows(100, /^\s*with\s+front as/);
    expect(claimed?.targetNumber).toBe(1);
    expect(rowsRead).toBeLessThan(3 * 2_000);
  });

  it("with the queue's statistics from a busy moment, a claim's look for more due jobs does not read the history", async () => {
    // A history first on disk, then as many queued jobs, analyzed then: half the table is queued, and
    // a "more due?" that takes the first queued row of the table in physical order reads the whole
    // history before it (bench:queue: 1 ms of a 2 ms claim after 12,000 finished jobs, growing).
    await seedFinishedJobs(database.db, 20_000);
    await queueJobs(database.db, 20_000, "o/busy");
    await database.db.execute(sql`analyze jobs`);
    const { claimed, rowsRead } = await claimAndCountRows(100, /^\s*with\s+front as/);
    expect(claimed?.targetNumber).toBe(1);
    expect(rowsRead).toBeLessThan(2_000);
    // An idle worker going straight to an announced job likewise.
    const [announced] = await queryRows<{ id: number }>(
      database.db,
      sql`select id from jobs where status = 'queued' and target_number = 2`,
    );
    const straight = await claimAndCountRows(100, /^\s*with\s+candidate as/, announced?.id);
    expect(straight.claimed?.targetNumber).toBe(2);
    expect(straight.rowsRead).toBeLessThan(2_000);
  });

  it("behind a long history, runs ending together keep their statement's plan instead of planning every call", async () => {
    await seedFinishedJobs(database.db, 20_000);
    await database.db.execute(sql`analyze jobs`);
    const one = openPostgres({ url: database.url as string, max: 1 });
    const rounds = 12;
    try {
      for (let round = 0; round < rounds; round++) {
        for (let n = 0; n < 2; n++)
          await makeJob(database.db, { status: "queued", repositoryId: 2, targetNumber: round * 10 + n });
        await database.db.execute(sql`update jobs set queued_at = created_at where status = 'queued'`);
        const claimed = await claimJobs(one.db, { workerId: "w", at: T0, leaseSeconds: 60, installationLimit: 100 }, 2);
        expect(claimed).toHaveLength(2);
        const ended = await Promise.all(
          claimed.map((job) =>
            transitionJob(one.db, {
              jobId: job.id,
              from: "running",
              to: "completed",
              at: T0,
              actor: "worker:w",
              claim: { workerId: "w", attempt: job.attempt },
            }),
          ),
        );
        expect(ended.every((result) => result.ok)).toBe(true);
      }
      const plans = await plansOf(one, "%jsonb_to_recordset%");
      expect(plans).toEqual({ generic: rounds - 5, custom: 5 });
    } finally {
      await one.close();
    }
  });

  it("with the queue's statistics from a quiet moment, the installation-by-installation claim reads each installation's front once", async () => {
    await seedFinishedJobs(database.db, 20_000);
    await seedInstallationsAtTheirLimit(database.db, 300);
    await database.db.execute(sql`analyze`);
    // Then a backlog of 3,000 queued jobs over the 300 installations at their limit, and one job behind it.
    await queueBacklog(database.db, 300, 3_000);
    await makeJob(database.db, { status: "queued", targetNumber: 1 });
    const { claimed, rowsRead } = await claimAndCountRows(2, /cross join lateral/);
    expect(claimed?.installationId).toBe(1);
    // 301 installations and a few jobs of the one under its limit: never the queue (3,000 jobs).
    expect(rowsRead).toBeLessThan(3_000);
  });

  /**
   * One claim on a connection of its own that records what it sends, and the rows read by the
   * claim's statement that matches `pattern` (see rowsReadBy).
   */
  async function claimAndCountRows(installationLimit: number, pattern: RegExp, first?: number) {
    const sent: Array<{ query: string; params: unknown[] }> = [];
    const one = openPostgres({
      url: database.url as string,
      max: 1,
      onQuery: (query, params) => sent.push({ query, params }),
    });
    try {
      const claimed = await claimNextJob(one.db, { workerId: "w", at: T0, leaseSeconds: 60, installationLimit, first });
      const rowsRead = await rowsReadBy(
        one,
        sent.find(({ query }) => pattern.test(query)),
      );
      return { claimed, rowsRead };
    } finally {
      await one.close();
    }
  }
});

/** Runs a statement that was sent again under EXPLAIN ANALYZE (rolled back): see rowsReadIn. */
async function rowsReadBy(
  handle: ReturnType<typeof openPostgres>,
  statement: { query: string; params: unknown[] } | undefined,
): Promise<number> {
  if (!statement) throw new Error("the statement was not sent");
  const client = handle.client as NonNullable<typeof handle.client>;
  return client
    .begin(async (tx) => {
      const [row] = await tx.unsafe(`explain (analyze, format json) ${statement.query}`, statement.params as never[]);
      throw Object.assign(new Error("roll back"), { plan: (row as Record<string, unknown>)["QUERY PLAN"] });
    })
    .catch((error: { plan?: unknown }) => rowsReadIn(error.plan));
}

/** Rows every node of an EXPLAIN (ANALYZE, FORMAT JSON) plan produced or threw away, over all its loops. */
function rowsReadIn(plan: unknown): number {
  let total = 0;
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    const loops = Number(n["Actual Loops"] ?? 1);
    for (const key of ["Actual Rows", "Rows Removed by Filter", "Rows Removed by Join Filter"])
      if (typeof n[key] === "number") total += (n[key] as number) * (key === "Actual Rows" ? loops : 1);
    for (const value of Object.values(n)) if (typeof value === "object") visit(value);
  };
  visit(plan);
  return total;
}

/** `count` installations (ids from 1001), each at its limit of 2 running `implement` jobs. */
async function seedInstallationsAtTheirLimit(db: Database, count: number): Promise<void> {
  await db.execute(sql`
    insert into installations (id, account_login, account_type, created_at, updated_at, running_count, running_by_type)
    select 1000 + g, 'backlog-' || g, 'Organization', ${T0.toISOString()}, ${T0.toISOString()}, 2, '{"implement": 2}'::jsonb
    from generate_series(1, ${count}::int) g`);
}

/** `count` queued jobs spread over the first `installations` of them, an hour older than anything else queued. */
async function queueBacklog(db: Database, installations: number, count: number): Promise<void> {
  await db.execute(sql`
    insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                      status, created_at, updated_at, queued_at)
    select 1000 + 1 + g % ${installations}::int, 2, 'o/backlog', g, 'issue', 'implement', 'queued',
           ${T0.toISOString()}::timestamptz, ${T0.toISOString()}::timestamptz,
           ${T0.toISOString()}::timestamptz - interval '1 hour' + (g || ' ms')::interval
    from generate_series(1, ${count}::int) g`);
}

/** `count` completed jobs of installation 1: a long history. */
async function seedFinishedJobs(db: Database, count: number): Promise<void> {
  await db.execute(sql`
    insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                      status, created_at, updated_at, finished_at)
    select 1, 1, 'o/history', g, 'issue', 'implement', 'completed', ${T0.toISOString()}, ${T0.toISOString()}, ${T0.toISOString()}
    from generate_series(1, ${count}::int) g`);
}

/** `count` queued jobs of installation 1 in repository `fullName` (id 2), queued 1 ms apart from T0 on. */
async function queueJobs(db: Database, count: number, fullName: string): Promise<void> {
  await db.execute(sql`
    insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                      status, created_at, updated_at, queued_at)
    select 1, 2, ${fullName}, g, 'issue', 'implement', 'queued', ${T0.toISOString()}, ${T0.toISOString()},
           ${T0.toISOString()}::timestamptz + (g || ' ms')::interval
    from generate_series(1, ${count}::int) g`);
}

/** How often this connection's prepared statement like `pattern` was planned generically and for its values. */
async function plansOf(handle: ReturnType<typeof openPostgres>, pattern: string) {
  const [plans] = await queryRows<{ generic: number; custom: number }>(
    handle.db,
    sql`select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
        where statement like ${pattern}`,
  );
  return plans;
}
