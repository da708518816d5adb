import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Database, queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { installations, type JobRow, jobs, statusComments } from "../../src/db/schema.js";
import { claimJobs } from "../../src/jobs/claim-next-job.js";
import { listJobEvents } from "../../src/jobs/find-jobs.js";
import { type JobPatch, transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { waitUntil } from "../support/processes.js";

const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const claim = { workerId: "w1", at: T0, leaseSeconds: 60, installationLimit: 10 };

/** Worker w1 ends its run of `job` as completed, at T0 + `seconds`, with `patch`. */
const endRun = (db: Database, job: JobRow, seconds: number, patch: JobPatch = {}) =>
  transitionJob(db, {
    jobId: job.id,
    from: "running",
    to: "completed",
    at: at(seconds),
    actor: "worker:w1",
    claim: { workerId: "w1", attempt: job.attempt },
    patch,
  });

describe.each(testDrivers)("runs ending in the same turn, on %s", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db, 1);
      await seedInstallation(db, 2);
    },
  });

  async function running(count: number, installationId = 1) {
    for (let i = 0; i < count; i++)
      await makeJob(database.db, { status: "queued", installationId, targetNumber: 10 * installationId + i });
    await database.db.execute(sql`update jobs set queued_at = created_at where status = 'queued'`);
    return claimJobs(database.db, { ...claim, workerId: `w${installationId}` }, count);
  }

  it("each gets its own values, event, comment mark and answer, and a lost claim among them its conflict", async () => {
    const [a, b, c, lost] = await running(4);
    if (!a || !b || !c || !lost) throw new Error("claim");
    const [x] = await running(1, 2);
    if (!x) throw new Error("claim");
    const end = (jobId: number, attempt: number, seconds: number, extra: object, workerId = "w1") =>
      transitionJob(database.db, {
        jobId,
        from: "running",
        at: at(seconds),
        actor: "worker:w1",
        claim: { workerId, attempt },
        to: "completed",
        ...extra,
      });
    const results = await Promise.all([
      end(a.id, a.attempt, 1, { patch: { costUsd: 0.5, inputTokens: 10, resultUrl: "https://github.com/o/r/pull/1" } }),
      end(b.id, b.attempt, 2, {
        patch: { costUsd: 1.25, inputTokens: 20, resultUrl: "https://github.com/o/r/pull/2" },
      }),
      end(c.id, c.attempt, 3, { to: "failed", code: "AGENT_ERROR", message: "exit 3", data: { exitCode: 3 } }),
      end(lost.id, lost.attempt + 1, 4, { patch: { costUsd: 9 } }),
      end(x.id, x.attempt, 5, { patch: { costUsd: 2, inputTokens: 30 } }, "w2"),
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, true]);
    expect(results[0]).toMatchObject({ ok: true, previous: "running", job: { id: a.id, status: "completed" } });
    expect(results[3]).toMatchObject({ ok: false, reason: "conflict", job: { id: lost.id, status: "running" } });
    const rows = await database.db
      .select()
      .from(jobs)
      .where(inArray(jobs.id, [a.id, b.id, c.id, lost.id, x.id]))
      .orderBy(jobs.id);
    expect(
      rows.map((r) => [r.status, r.costUsd, r.inputTokens, r.resultUrl, r.failureCode, r.finishedAt, r.progress]),
    ).toEqual([
      ["completed", 0.5, 10, "https://github.com/o/r/pull/1", null, at(1), 100],
      ["completed", 1.25, 20, "https://github.com/o/r/pull/2", null, at(2), 100],
      ["failed", null, null, null, "AGENT_ERROR", at(3), null],
      ["running", null, null, null, null, null, null],
      ["completed", 2, 30, null, null, at(5), 100],
    ]);
    expect(rows.map((r) => r.reactionVersion)).toEqual([1, 1, 1, 0, 1]);
    expect(rows.every((r) => r.id === lost.id || r.targetSnapshot === null)).toBe(true);

    expect((await listJobEvents(database.db, c.id)).at(-1)).toMatchObject({
      fromStatus: "running",
      toStatus: "failed",
      at: at(3),
      actor: "worker:w1",
      code: "AGENT_ERROR",
      message: "exit 3",
      data: { exitCode: 3 },
    });
    expect((await listJobEvents(database.db, b.id)).at(-1)).toMatchObject({
      toStatus: "completed",
      at: at(2),
      code: null,
    });
    expect((await listJobEvents(database.db, lost.id)).at(-1)).toMatchObject({ toStatus: "running" });

    // Each target's comment marked once per change: created, queued (fixture: none), claimed, ended.
    const marks = await database.db
      .select({ target: statusComments.targetNumber, version: statusComments.version })
      .from(statusComments)
      .orderBy(statusComments.repositoryId, statusComments.targetNumber);
    const before = marks.find((m) => m.target === lost.targetNumber)?.version ?? 0;
    for (const job of [a, b, c]) expect(marks.find((m) => m.target === job.targetNumber)?.version).toBe(before + 1);

    const counts = await database.db
      .select({ id: installations.id, running: installations.runningCount })
      .from(installations)
      .orderBy(installations.id);
    expect(counts).toEqual([
      { id: 1, running: 1 },
      { id: 2, running: 0 },
    ]);
  });

  it("ends under the pause flag the worker read (as finish sends them): one whose flag changed meanwhile is not moved", async () => {
    const [a, b, paused] = await running(3);
    if (!a || !b || !paused) throw new Error("claim");
    await database.db.update(jobs).set({ pauseRequested: true }).where(eq(jobs.id, paused.id));
    const results = await Promise.all(
      [a, b, paused].map((job, i) =>
        transitionJob(database.db, {
          jobId: job.id,
          from: "running",
          to: "completed",
          at: at(i + 1),
          actor: "worker:w1",
          claim: { workerId: "w1", attempt: job.attempt },
          expect: { pauseRequested: false },
        }),
      ),
    );
    expect(results.map((r) => [r.ok, r.job?.status])).toEqual([
      [true, "completed"],
      [true, "completed"],
      [false, "running"],
    ]);
    expect(results[2]).toMatchObject({ reason: "conflict", job: { pauseRequested: true } });
    const [installation] = await database.db.select().from(installations).where(eq(installations.id, 1));
    expect(installation?.runningCount).toBe(1);
  });

  it("the same run ended twice in one turn: one end wins, the other sees it", async () => {
    const [a] = await running(1);
    if (!a) throw new Error("claim");
    const results = await Promise.all([
      endRun(database.db, a, 1, { costUsd: 1 }),
      endRun(database.db, a, 1, { costUsd: 2 }),
    ]);
    const winner = results.find((r) => r.ok);
    const loser = results.find((r) => !r.ok);
    expect(winner?.job?.status).toBe("completed");
    expect(loser).toMatchObject({
      ok: false,
      reason: "conflict",
      job: { status: "completed", costUsd: winner?.job?.costUsd },
    });
    expect((await listJobEvents(database.db, a.id)).filter((e) => e.toStatus === "completed")).toHaveLength(1);
  });

  it("when the statement fails, each end is tried on its own: only the bad one fails", async () => {
    const [a, b] = await running(2);
    if (!a || !b) throw new Error("claim");
    // Too large for numeric(12, 6): that row fails the shared statement, then its own.
    const results = await Promise.allSettled([
      endRun(database.db, a, 1, { costUsd: 123_456_789 }),
      endRun(database.db, b, 1, { costUsd: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    const rows = await database.db
      .select({ status: jobs.status })
      .from(jobs)
      .where(inArray(jobs.id, [a.id, b.id]))
      .orderBy(jobs.id);
    expect(rows.map((r) => r.status)).toEqual(["running", "completed"]);
    const [installation] = await database.db.select().from(installations).where(eq(installations.id, 1));
    expect(installation?.runningCount).toBe(1);
  });
});

describe.runIf(postgresAvailable)("runs ending together on the real server", () => {
  const database = useTestDatabase("postgres", {
    seed: async (db) => {
      for (let id = 1; id <= 5; id++) await seedInstallation(db, id);
    },
  });

  it("ends of one turn go in one statement", async () => {
    for (let i = 0; i < 6; i++) await makeJob(database.db, { status: "queued", targetNumber: 10 + i });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const claimed = await claimJobs(database.db, claim, 6);
    expect(claimed).toHaveLength(6);
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 2, onQuery: (query) => statements.push(query) });
    try {
      // Half as the bench and half as the worker's finish sends them (with the pause flag it read).
      const results = await Promise.all(
        claimed.map((job, i) =>
          i % 2
            ? endRun(counted.db, job, 1)
            : transitionJob(counted.db, {
                jobId: job.id,
                from: "running",
                to: "completed",
                at: at(1),
                actor: "worker:w1",
                claim: { workerId: "w1", attempt: job.attempt },
                expect: { pauseRequested: false },
              }),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(statements.filter((q) => /update\s+"?jobs"?\s/i.test(q))).toHaveLength(1);
    } finally {
      await counted.close();
    }
  });

  const deadlocks = async () => {
    await database.db.execute(sql`select pg_stat_clear_snapshot()`);
    const [row] = await queryRows<{ n: string }>(
      database.db,
      sql`select deadlocks as n from pg_stat_database where datname = current_database()`,
    );
    return Number(row?.n);
  };
  /** Resolves once `count` backends of this database wait on a lock. */
  /** Resolves once `count` backends of this database wait on a lock. */
  const lockWaiters = (count: number) =>
    waitUntil(async () => {
      const [row] = await queryRows<{ n: string }>(
        database.db,
        sql`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      return Number(row?.n) >= count;
    }, `${count} backends waiting on a lock`);

  it("a run's end and a sweep's move of the same job, queued on its row, never deadlock on its installation", async () => {
    await makeJob(database.db, { status: "queued", targetNumber: 10 });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const [job] = await claimJobs(database.db, claim, 1);
    if (!job) throw new Error("claim");
    const before = await deadlocks();
    const holder = openPostgres({ url: database.url as string, max: 1 });
    const movers = openPostgres({ url: database.url as string, max: 2 });
    try {
      // A third transaction holds the job's row, so both moves queue on it: the sweep's first.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let held = () => {};
      const holding = new Promise<void>((resolve) => {
        held = resolve;
      });
      const holderDone = holder.db.transaction(async (tx) => {
        await tx.execute(sql`select id from jobs where id = ${job.id} for update`);
        held();
        await released;
      });
      await holding;
      const timedOut = transitionJob(movers.db, {
        jobId: job.id,
        from: "running",
        to: "failed",
        at: at(2),
        actor: "maintenance",
        code: "TIMEOUT",
      });
      await lockWaiters(1);
      const ended = endRun(movers.db, job, 1, { costUsd: 1 });
      await lockWaiters(2);
      release();
      await holderDone;
      const results = await Promise.allSettled([timedOut, ended]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      const answers = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(answers.map((r) => r.ok)).toEqual([true, false]);
      expect(answers[1]).toMatchObject({ reason: "conflict", job: { status: "failed", failureCode: "TIMEOUT" } });
      const [installation] = await database.db.select().from(installations).where(eq(installations.id, 1));
      expect(installation?.runningCount).toBe(0);
    } finally {
      await Promise.all([holder.close(), movers.close()]);
    }
    // A backend reports its statistics when it exits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await deadlocks()).toBe(before);
  });

  it("4 workers ending runs over 5 installations in opposite orders at once never deadlock and keep the counts exact", async () => {
    const before = await deadlocks();
    const workers = Array.from({ length: 4 }, () => openPostgres({ url: database.url as string, max: 2 }));
    try {
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 40; i++)
          await makeJob(database.db, { status: "queued", installationId: 1 + (i % 5), targetNumber: round * 100 + i });
        await database.db.execute(sql`update jobs set queued_at = created_at where status = 'queued'`);
        // Each worker claims some of every installation's jobs.
        const claimedBy = await Promise.all(
          workers.map(async (worker, index) => {
            const mine = [];
            for (;;) {
              const jobs = await claimJobs(worker.db, { ...claim, workerId: `w${index}` }, 3);
              if (!jobs.length) return mine;
              mine.push(...jobs);
            }
          }),
        );
        expect(claimedBy.flat()).toHaveLength(40);
        // Every worker ends all its runs in one turn, half of them in reverse installation order.
        const results = await Promise.all(
          claimedBy.flatMap((mine, index) =>
            (index % 2 ? [...mine].sort((p, q) => q.installationId - p.installationId) : mine).map((job) =>
              transitionJob(workers[index]?.db ?? database.db, {
                jobId: job.id,
                from: "running",
                to: "completed",
                at: at(round),
                actor: `worker:w${index}`,
                claim: { workerId: `w${index}`, attempt: job.attempt },
              }),
            ),
          ),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(40);
        const [row] = await queryRows<{ running: string; counted: string }>(
          database.db,
          sql`select (select count(*) from jobs where status = 'running') as running,
                     (select sum(running_count) from installations) as counted`,
        );
        expect(row).toEqual({ running: "0", counted: "0" });
      }
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    // A deadlock would only slow them (each end is tried again alone): count them. A backend
    // reports its statistics when it exits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await deadlocks()).toBe(before);
  });
});
