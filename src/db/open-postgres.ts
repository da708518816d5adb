import { drizzle } from "drizzle-orm/postgres-js";
import type { Logger } from "pino";
import postgres from "postgres";
import { announceWaiting } from "../jobs/announce-changes.js";
import { type Database, type DatabaseHandle, schema } from "./client.js";
import { prepareStatements } from "./prepare-statements.js";

export interface OpenPostgresOptions {
  url: string;
  /** Connections in the pool. */
  max?: number;
  /** Seconds to wait for a connection before failing (never hang on a dead server). */
  connectTimeoutSeconds?: number;
  log?: Logger;
  /** Sees every query drizzle sends (query-plan tests, benchmarks). */
  onQuery?: (query: string, params: unknown[]) => void;
}

/** Opens a pool on a real PostgreSQL server. */
export function openPostgres(options: OpenPostgresOptions): DatabaseHandle {
  const client = postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 30,
    // Notices such as "relation already exists, skipping" are not worth a log line.
    onnotice: () => {},
    connection: { application_name: "labelrun" },
  });
  const onQuery = options.onQuery;
  const db = drizzle(prepareStatements(client), {
    schema,
    ...(onQuery ? { logger: { logQuery: (query: string, params: unknown[]) => onQuery(query, params) } } : {}),
  }) as unknown as Database;
  return {
    db,
    driver: "postgres",
    client,
    async listen(channel, onPayload) {
      const { unlisten } = await client.listen(channel, onPayload);
      return unlisten;
    },
    async close() {
      // The notices of changes already made go out before the connections close.
      await announceWaiting(db);
      await client.end({ timeout: 5 });
    },
  };
}
