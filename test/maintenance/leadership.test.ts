import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { MAINTENANCE_LOCK_KEY, withLeadership } from "../../src/db/leadership.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { jobs } from "../../src/db/schema.js";
import { MaintenanceLoop } from "../../src/maintenance/maintenance-loop.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

/**
 * pg_locks shows every database's locks, and the other test files running beside this one hold
 * the same advisory keys in their own databases: only this test's database is looked at.
 */
const THIS_DATABASE = sql`(select oid from pg_database where datname = current_database())`;

describe.runIf(postgresAvailable)("one maintenance leader at a time (real server)", () => {
  const database = useTestDatabase("postgres", {
    seed: async (db) => {
      await seedInstallation(db, 1);
    },
  });

  it("3 processes ticking at once for many ticks sweep each job exactly once per condition", async () => {
    for (let i = 0; i < 30; i++) {
      const job = await makeJob(database.db, { status: i % 2 ? "deferred" : "running" });
      await database.db.execute(sql`update jobs set run_after = ${new Date(T0.getTime() - 1000).toISOString()}::timestamptz,
        queued_at = created_at, lease_expires_at = ${new Date(T0.getTime() - 1000).toISOString()}::timestamptz,
        deadline_at = ${new Date(T0.getTime() + 60_000).toISOString()}::timestamptz, worker_id = 'gone', attempt = 1
        where id = ${job.id}`);
    }
    const handles = Array.from({ length: 3 }, () => openPostgres({ url: database.url as string, max: 3 }));
    try {
      const loops = handles.map((handle) => new MaintenanceLoop({ ...makeSweepDeps(handle.db).deps, handle }, 1000));
      let led = 0;
      for (let tick = 0; tick < 10; tick++) {
        const results = await Promise.all(loops.map((loop) => loop.tick()));
        led += results.filter((r) => r !== null).length;
      }
      expect(led).toBeGreaterThanOrEqual(10);
      const perJob = await queryRows<{ job_id: string; n: string }>(
        database.db,
        sql`select job_id, count(*) as n from job_events where actor = 'maintenance' and code in ('WORKER_LOST') group by job_id`,
      );
      // 15 lost (running) jobs handed back once each; the 15 deferred ones requeued once each.
      expect(perJob).toHaveLength(15);
      expect(perJob.every((row) => row.n === "1")).toBe(true);
      const requeued = await queryRows<{ n: string }>(
        database.db,
        sql`select count(*) as n from job_events where actor = 'maintenance' and from_status = 'deferred' and to_status = 'queued'`,
      );
      // Handed-back jobs become due at once and are requeued too: 15 + 15, each once.
      expect(requeued[0]?.n).toBe("30");
      expect((await database.db.select().from(jobs)).every((j) => j.status === "queued")).toBe(true);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });

  it("while one process leads the others skip, and killing the leader's connection hands leadership over", async () => {
    const a = openPostgres({ url: database.url as string, max: 2 });
    const b = openPostgres({ url: database.url as string, max: 2 });
    try {
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const leading = withLeadership(a, () => gate).catch((error: unknown) => error);
      // Wait until A holds the lock.
      for (;;) {
        const [row] = await queryRows<{ n: string }>(
          database.db,
          sql`select count(*) as n from pg_locks where locktype = 'advisory' and granted and database = ${THIS_DATABASE}`,
        );
        if (row?.n === "1") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await withLeadership(b, async () => "b swept")).toEqual({ led: false });
      const key = MAINTENANCE_LOCK_KEY;
      const killed = await queryRows<{ ok: boolean }>(
        database.db,
        sql`select pg_terminate_backend(pid) as ok from pg_locks
            where locktype = 'advisory' and granted and database = ${THIS_DATABASE}
              and ((classid::bigint << 32) | objid::bigint) = ${key.toString()}::bigint`,
      );
      expect(killed).toEqual([{ ok: true }]);
      release();
      expect(await leading).toBeInstanceOf(Error);
      expect(await withLeadership(b, async () => "b swept")).toEqual({ led: true, result: "b swept" });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a sweep that finishes after its leader's connection died fails that tick, and the process lives on to lead the next", async () => {
    // The CI run of 2026-11-25 died here: postgres.js 3.4.9 wrote the transaction's COMMIT to the
    // closed connection from a setImmediate (socket null), an exception no caller could catch.
    const a = openPostgres({ url: database.url as string, max: 2 });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      let ended: Promise<unknown> = Promise.resolve();
      const leading = withLeadership(a, async () => {
        const killed = await queryRows<{ ok: boolean }>(
          database.db,
          sql`select pg_terminate_backend(pid) as ok from pg_locks
              where locktype = 'advisory' and granted and database = ${THIS_DATABASE}
              and ((classid::bigint << 32) | objid::bigint) = ${MAINTENANCE_LOCK_KEY.toString()}::bigint`,
        );
        expect(killed).toEqual([{ ok: true }]);
        // The sweep goes on until this process has seen the connection close, then returns: COMMIT follows.
        await ended;
        return "swept";
      });
      ended = leading.catch((error: unknown) => error);
      const outcome = await ended;
      expect(outcome).toBeInstanceOf(Error);
      expect(String(outcome)).toMatch(/CONNECTION_CLOSED|CONNECTION_DESTROYED/);
      // Past the turns in which the COMMIT would have been written.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught).toEqual([]);
      expect(await withLeadership(a, async () => "swept again")).toEqual({ led: true, result: "swept again" });
    } finally {
      process.off("uncaughtException", onUncaught);
      await a.close();
    }
  });
});

describe.runIf(postgresAvailable)("a stuck maintenance sweep (real server)", () => {
  const database = useTestDatabase("postgres");

  it("gives up at its deadline, and its lock is released for another process to lead", async () => {
    const a = openPostgres({ url: database.url as string, max: 2 });
    const b = openPostgres({ url: database.url as string, max: 2 });
    try {
      const stuck = withLeadership(a, () => new Promise<never>(() => {}), 500);
      await expect(stuck).rejects.toThrow(/ran past its deadline of 500 ms/);
      expect(await withLeadership(b, async () => "b swept")).toEqual({ led: true, result: "b swept" });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
