import { getTableColumns, is, type Query, SQL, sql } from "drizzle-orm";
import { type PgColumn, PgDialect, type PgTable } from "drizzle-orm/pg-core";
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

/** A prebuilt statement's value named `name`, filled on each call (drizzle's placeholder as an SQL part). */
export function placeholder(name: string): SQL {
  return sql`${sql.placeholder(name)}`;
}

/**
 * PrebuiltStatements keyed by a shape: a plain object naming what makes two statements' text
 * differ (never a value, which goes in a placeholder). Each shape's statement is built once;
 * past `max` shapes a new one is built for its call and not kept, so memory stays bounded.
 */
export class PrebuiltStatements<Shape> {
  private readonly byShape = new Map<string, PrebuiltStatement>();

  constructor(
    private readonly build: (shape: Shape) => SQL,
    private readonly max: number,
  ) {}

  of(shape: Shape): PrebuiltStatement {
    const key = JSON.stringify(shape);
    let statement = this.byShape.get(key);
    if (!statement) {
      statement = new PrebuiltStatement(() => this.build(shape));
      if (this.byShape.size < this.max) this.byShape.set(key, statement);
    }
    return statement;
  }
}

/** A table's column by its key (drizzle's property name, not the column's name). */
export function columnOf(table: PgTable, key: string): PgColumn {
  const column = (getTableColumns(table) as Record<string, PgColumn>)[key];
  if (!column) throw new Error(`${table._.name} has no column ${key}`);
  return column;
}

/**
 * A row's values for a prebuilt statement's placeholders named `prefix` + key, each encoded
 * as drizzle encodes its column's values (a null stays null, not JSON's `null`). A value
 * must be a value: the statement is built once, so an SQL expression cannot go in it.
 */
export function columnValues(table: PgTable, row: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (is(value, SQL)) throw new TypeError(`${key} must be a value for a prebuilt statement, not an SQL expression`);
    values[prefix + key] = value === null || value === undefined ? null : columnOf(table, key).mapToDriverValue(value);
  }
  return values;
}

/**
 * A row for `jsonb_to_recordset` (the batch statements' rows in one parameter): each value
 * keyed by its column's name as the driver would send it, jsonb as it is (not a JSON string).
 */
export function recordsetRow(table: PgTable, row: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    const column = columnOf(table, key);
    values[column.name] =
      value === null || value === undefined || column.getSQLType() === "jsonb"
        ? (value ?? null)
        : column.mapToDriverValue(value);
  }
  return values;
}

/** The `name type` list of a recordset's columns (`jsonb_to_recordset(...) as v(...)`). */
export function recordsetColumns(columns: readonly PgColumn[]): SQL {
  return sql.join(
    columns.map((column) => sql.raw(`${column.name} ${column.getSQLType()}`)),
    sql`, `,
  );
}
