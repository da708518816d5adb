import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";

describe.runIf(postgresAvailable)("queries are prepared on the real server", () => {
  const database = useTestDatabase("postgres");

  it("a query with parameters is prepared once per connection, in and out of transactions", async () => {
    const one = openPostgres({ url: database.url as string, max: 1 });
    try {
      for (let i = 0; i < 3; i++) await one.db.execute(sql`select ${i}::int as n`);
      await one.db.transaction(async (tx) => {
        await tx.execute(sql`select ${1}::int + 1 as n`);
        await tx.transaction(async (inner) => {
          await inner.execute(sql`select ${1}::int + 2 as n`);
        });
      });
      const prepared = await queryRows<{ statement: string }>(
        one.db,
        sql`select statement from pg_prepared_statements where statement like ${"select $1::int%"} order by statement`,
      );
      expect(prepared.map((row) => row.statement)).toEqual([
        "select $1::int + 1 as n",
        "select $1::int + 2 as n",
        "select $1::int as n",
      ]);
    } finally {
      await one.close();
    }
  });

  it("a prepared query still answers after a migration changes its table", async () => {
    const one = openPostgres({ url: database.url as string, max: 1 });
    try {
      await one.db.execute(sql`create table widened (a int)`);
      await one.db.execute(sql`insert into widened values (1)`);
      const read = () => queryRows(one.db, sql`select * from widened where a = ${1}`);
      expect(await read()).toEqual([{ a: 1 }]);
      await one.db.execute(sql`alter table widened add column b text default 'new'`);
      expect(await read()).toEqual([{ a: 1, b: "new" }]);
    } finally {
      await one.close();
    }
  });
});
