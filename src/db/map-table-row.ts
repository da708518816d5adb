import { getTableColumns } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

/**
 * A raw row (column names as in the database, values as the driver gave them)
 * as drizzle would have returned it from a select of the table: for the
 * statements written in `sql` that return a table's rows (a claim or a move in
 * one statement with its event and marks).
 */
export function mapTableRow<T extends PgTable>(table: T, raw: Record<string, unknown>): T["$inferSelect"] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T["$inferSelect"];
}
