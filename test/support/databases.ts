import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, inject } from "vitest";
import type { DatabaseHandle } from "../../src/db/client.js";
import { migrate } from "../../src/db/migrate.js";
import { openPGlite } from "../../src/db/open-pglite.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { withDatabase } from "./global-setup.js";

export type TestDriver = "postgres" | "pglite";

/** True when the real server answered at the start of the run. */
export const postgresAvailable = inject("postgresUrl") !== null;

/** The drivers this run can test: both, or PGlite alone when no server answers. */
export const testDrivers: TestDriver[] = postgresAvailable ? ["postgres", "pglite"] : ["pglite"];

export interface TestDatabase extends DatabaseHandle {
  /** The database's URL on the real server (postgres driver only). */
  url: string | null;
  /** Empties every table and restarts ids, between tests. */
  reset(): Promise<void>;
}

/**
 * A migrated, empty database of its own for one test file: a copy of the
 * run's template on the real server, or an in-memory PGlite.
 */
export async function openTestDatabase(driver: TestDriver, options: { max?: number } = {}): Promise<TestDatabase> {
  if (driver === "pglite") {
    const instance = new PGlite();
    const handle = await openPGlite({ instance });
    await migrate(handle);
    return {
      ...handle,
      url: null,
      reset: () => truncateAll(handle),
      close: async () => {
        await instance.close();
      },
    };
  }
  const baseUrl = inject("postgresUrl");
  const template = inject("postgresTemplate");
  if (!baseUrl || !template) throw new Error("no PostgreSQL server for this run");
  const name = `labelrun_t${process.ppid}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${template}`);
  const url = withDatabase(baseUrl, name);
  const handle = openPostgres({ url, max: options.max ?? 25 });
  return {
    ...handle,
    url,
    reset: () => truncateAll(handle),
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

async function truncateAll(handle: DatabaseHandle): Promise<void> {
  await handle.db.execute(
    sql`truncate job_logs, job_events, status_comments, repository_configs, maintenance_state, redeliveries, comment_commands, workers, admin_sessions, job_day_outcomes, job_day_repositories, job_day_durations, job_rollup_days, jobs, installations restart identity cascade`,
  );
}

/**
 * Registers the usual hooks for a test file: a database of its own before
 * all tests, emptied (and seeded) before each, closed after all. Returns a
 * handle that always points at it.
 */
export function useTestDatabase(
  driver: TestDriver,
  options: { max?: number; seed?: (db: TestDatabase["db"]) => Promise<void> } = {},
): TestDatabase {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await openTestDatabase(driver, options);
  }, 60_000);
  afterAll(async () => {
    await current?.close();
  });
  beforeEach(async () => {
    await open().reset();
    await options.seed?.(open().db);
  });
  const open = (): TestDatabase => {
    if (!current) throw new Error("the test database is not open yet (use it inside a test or hook)");
    return current;
  };
  return {
    get db() {
      return open().db;
    },
    get driver() {
      return open().driver;
    },
    get url() {
      return open().url;
    },
    get client() {
      return open().client;
    },
    listen: (channel, onPayload) => open().listen(channel, onPayload),
    reset: () => open().reset(),
    close: () => open().close(),
  };
}
