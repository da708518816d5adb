import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

describe.runIf(postgresAvailable)("a claim's plan on the real server", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db, 1) });

  it("behind a backlog of installations at their limit, the installation-by-installation claim keeps its plan instead of planning every call", async () => {
    // 300 installations at their limit of 2, each with older queued jobs than installation 1's:
    // every claim goes installation by installation.
    await database.db.execute(sql`
      insert into installations (id, account_login, account_type, created_at, updated_at, running_count, running_by_type)
      select 1000 + g, 'backlog-' || g, 'Organization', ${T0.toISOString()}, ${T0.toISOString()}, 2, '{"implement": 2}'::jsonb
      from generate_series(1, 300) g`);
    await database.db.execute(sql`
      insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                        status, created_at, updated_at, queued_at)
      select 1000 + 1 + g % 300, 2, 'o/backlog', g, 'issue', 'implement', 'queued', ${T0.toISOString()}::timestamptz,
             ${T0.toISOString()}::timestamptz, ${T0.toISOString()}::timestamptz - interval '1 hour' + (g || ' ms')::interval
      from generate_series(1, 1500) g`);
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
      const [plans] = await queryRows<{ generic: number; custom: number }>(
        one.db,
        sql`select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
            where statement like ${"%cross join lateral%"}`,
      );
      // PostgreSQL plans a prepared statement for its values five times, then keeps a generic plan
      // unless it estimates it dearer: planning this claim costs about as much as running it.
      expect(plans).toEqual({ generic: claims - 5, custom: 5 });
    } finally {
      await one.close();
    }
  });
});
