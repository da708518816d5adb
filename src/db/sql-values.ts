import { type SQL, sql } from "drizzle-orm";

/**
 * A point in time as a bound `timestamptz` parameter. Decisions use the
 * injected clock, never SQL `now()`, so tests can move time.
 */
export function timestampParam(at: Date): SQL {
  return sql`${at.toISOString()}::timestamptz`;
}

/** A list of ids as one bound `bigint[]` parameter. */
export function bigintArrayParam(ids: readonly number[]): SQL {
  return sql`${`{${ids.join(",")}}`}::bigint[]`;
}
