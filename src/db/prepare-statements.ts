import type { Sql } from "postgres";

/**
 * The postgres.js client drizzle is given, with its queries prepared.
 *
 * drizzle sends every query through postgres.js's `unsafe` with `prepare:
 * false`, so each one costs a Describe round trip before its Bind and a fresh
 * parse and plan on the server (`pg_stat_statements` showed planning as the
 * larger half of a claim). Prepared, a statement is parsed once per
 * connection, skips the round trip, and PostgreSQL may keep its plan.
 * postgres.js caches statements by text per connection, re-prepares one that
 * a migration invalidated, and drops them with the connection (its lifetime is
 * bounded). Queries without parameters keep the simple protocol (a migration
 * file is several statements in one query).
 */
export function prepareStatements(client: Sql): Sql {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (query: string, parameters: unknown[] = [], options: Record<string, unknown> = {}) =>
          target.unsafe(query, parameters as never[], parameters.length ? { ...options, prepare: true } : options);
      }
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) => {
          const body = args.pop() as (inner: Sql) => unknown;
          const start = Reflect.get(target, property, receiver) as (...a: unknown[]) => unknown;
          return start.call(target, ...args, (inner: Sql) => body(prepareStatements(inner)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
