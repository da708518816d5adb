import { type SQL, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";

/**
 * The pool takes its idle connections last in, first out (patches/postgres+3.4.9.patch): at a
 * quiet moment a query goes to the server process that has just worked, not to the one idle
 * longest. postgres.js 3.4.9 took them round robin, so each query of a worker woken by a notice
 * met a cold process (bench:queue: pick-up 2.84 ms round robin, 1.82 ms last in first out).
 */
describe.runIf(postgresAvailable)("the pool reuses the connection it used last", () => {
  const database = useTestDatabase("postgres");

  it("after a burst opened four connections, queries one at a time and transactions stay on one", async () => {
    const pool = openPostgres({ url: database.url as string, max: 4 });
    /** The server process that ran `query` (a query whose first column is `pid`). */
    const backendOf = async (db: Database, query: SQL) => (await queryRows<{ pid: number }>(db, query))[0]?.pid;
    try {
      // Four at once, each holding its connection a moment: the pool opens all four.
      const burst = await Promise.all(
        [0, 1, 2, 3].map(() => backendOf(pool.db, sql`select pg_backend_pid() as pid from pg_sleep(${0.05}::float8)`)),
      );
      expect(new Set(burst).size).toBe(4);

      const oneAtATime: Array<number | undefined> = [];
      for (let i = 0; i < 8; i++)
        oneAtATime.push(await backendOf(pool.db, sql`select pg_backend_pid() as pid, ${i}::int`));
      for (let i = 0; i < 2; i++)
        oneAtATime.push(await pool.db.transaction((tx) => backendOf(tx, sql`select pg_backend_pid() as pid`)));
      // Round robin went through all four (each query took the connection idle longest).
      expect(new Set(oneAtATime).size).toBe(1);
      expect(burst).toContain(oneAtATime[0]);
    } finally {
      await pool.close();
    }
  });
});
