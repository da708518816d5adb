import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migrate.js";
import { openPostgres } from "../../src/db/open-postgres.js";

export const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

declare module "vitest" {
  export interface ProvidedContext {
    /** Server URL whose database name is replaced per test file, or null when no server answers. */
    postgresUrl: string | null;
    /** A migrated database that each test file copies (CREATE DATABASE … TEMPLATE). */
    postgresTemplate: string | null;
  }
}

/**
 * Runs once per `npm test`: checks that the PostgreSQL server answers (within
 * three seconds, never hanging) and prepares a migrated template database.
 * Without a server the PGlite half of the suite still runs; on CI a missing
 * server fails the run instead of skipping half of it.
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const admin = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await admin`select 1`;
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    const line = `PostgreSQL at ${redactUrl(url)} did not answer (${(error as Error).message}): the real-server tests are skipped, the PGlite tests run. Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`;
    if (process.env.CI) throw new Error(line);
    console.warn(`\n⚠ ${line}\n`);
    project.provide("postgresUrl", null);
    project.provide("postgresTemplate", null);
    return;
  }

  const template = `labelrun_template_${process.pid}`;
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  const handle = openPostgres({ url: withDatabase(url, template), max: 1 });
  await migrate(handle);
  await handle.close();
  project.provide("postgresUrl", url);
  project.provide("postgresTemplate", template);

  return async () => {
    const leftovers = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`labelrun_t${process.pid}_%`} or datname = ${template}`;
    for (const { datname } of leftovers) {
      await admin.unsafe(`drop database if exists ${datname} with (force)`);
    }
    await admin.end({ timeout: 5 });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
