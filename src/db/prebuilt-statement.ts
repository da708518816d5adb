import type { Query, SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Database } from "./client.js";

const dialect = new PgDialect();

/**
 * A statement whose text drizzle builds once per process; its values are
 * placeholders (`sql.placeholder(name)`, encoded by their columns as drizzle
 * encodes any value) filled on each call. drizzle otherwise builds a
 * statement's text from its parts on every call, each part through its
 * `is()` checks: a trigger's insert cost 500 µs of CPU to build (measured with
 * a driver that answers at once), more than the rest of the webhook's work.
 * The text is the same for both drivers and inside a transaction.
 */
export class PrebuiltStatement {
  private query: Query | null = null;

  /** `build` gets the first database the statement runs on, for drizzle's query builders. */
  constructor(private readonly build: (db: Database) => SQL) {}

  /** Runs the statement with `values` for its placeholders and returns its rows (either driver). */
  async rows<T = Record<string, unknown>>(db: Database, values: Record<string, unknown>): Promise<T[]> {
    this.query ??= dialect.sqlToQuery(this.build(db));
    const result = (await db._.session
      .prepareQuery(this.query, undefined, undefined, false)
      .execute(values)) as unknown;
    if (Array.isArray(result)) return result as T[];
    return ((result as { rows?: T[] }).rows ?? []) as T[];
  }
}
