import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema.js";

/** The one database type the code below `bin/` sees: either driver, or a transaction. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DriverName = "postgres" | "pglite";

/** An open database and how to close it. */
export interface DatabaseHandle {
  db: Database;
  driver: DriverName;
  /** The postgres.js client underneath (postgres driver only), for raw `unsafe` queries. */
  client?: import("postgres").Sql;
  /** Subscribe to a NOTIFY channel; returns the unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * Runs raw SQL and returns its rows. postgres.js answers `execute` with an
 * array and PGlite with `{ rows }`; this is the one place that knows.
 */
export async function queryRows<T = Record<string, unknown>>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export { schema };
