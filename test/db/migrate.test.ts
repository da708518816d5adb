import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, describe, expect, inject, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { countMigrations, migrate } from "../../src/db/migrate.js";
import { openPGlite } from "../../src/db/open-pglite.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { JOB_STATES } from "../../src/jobs/states.js";
import { postgresAvailable } from "../support/databases.js";
import { withDatabase } from "../support/global-setup.js";

const TABLES = [
  "admin_sessions",
  "comment_commands",
  "installations",
  "job_day_durations",
  "job_day_outcomes",
  "job_day_repositories",
  "job_events",
  "job_logs",
  "job_rollup_days",
  "jobs",
  "maintenance_state",
  "redeliveries",
  "repository_configs",
  "status_comments",
  "workers",
];

async function describeSchema(handle: Awaited<ReturnType<typeof openPGlite>>) {
  const tables = await queryRows<{ table_name: string }>(
    handle.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  const applied = await queryRows<{ n: string | number }>(
    handle.db,
    sql`select count(*) as n from drizzle.__drizzle_migrations`,
  );
  const enumValues = await queryRows<{ v: string }>(
    handle.db,
    sql`select unnest(enum_range(null::job_status))::text as v`,
  );
  return {
    tables: tables.map((t) => t.table_name),
    applied: Number(applied[0]?.n),
    states: enumValues.map((r) => r.v),
  };
}

describe("migrations", () => {
  it("apply cleanly to an empty PGlite database, and a second run is a no-op", async () => {
    const handle = await openPGlite({ instance: new PGlite() });
    try {
      await migrate(handle);
      const first = await describeSchema(handle);
      expect(first.tables).toEqual(TABLES);
      expect(first.applied).toBe(countMigrations());
      expect(first.states).toEqual([...JOB_STATES]);
      await migrate(handle);
      expect(await describeSchema(handle)).toEqual(first);
    } finally {
      await handle.close();
    }
  });

  describe.runIf(postgresAvailable)("on the real server", () => {
    const baseUrl = inject("postgresUrl") as string;
    const name = `labelrun_t${process.ppid}_migrate`;
    const admin = postgresAvailable ? postgres(baseUrl, { max: 1, onnotice: () => {} }) : null;
    afterAll(async () => {
      await admin?.unsafe(`drop database if exists ${name} with (force)`);
      await admin?.end();
    });

    it("apply cleanly to an empty database, and a second run is a no-op", async () => {
      await admin?.unsafe(`drop database if exists ${name} with (force)`);
      await admin?.unsafe(`create database ${name}`);
      const handle = openPostgres({ url: withDatabase(baseUrl, name), max: 2 });
      try {
        await migrate(handle);
        const first = await describeSchema(handle);
        expect(first.tables).toEqual(TABLES);
        expect(first.applied).toBe(countMigrations());
        await migrate(handle);
        expect(await describeSchema(handle)).toEqual(first);
      } finally {
        await handle.close();
      }
    });
  });
});
