import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { recordInstallation } from "../../src/db/installations.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { jobEvents, jobs } from "../../src/db/schema.js";
import { claimJobs, claimNextJob } from "../../src/jobs/claim-next-job.js";
import { createJob } from "../../src/jobs/create-job.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, makeNewJob, seedInstallation, seedQueuedFront, T0 } from "../support/factories.js";

// Races need a server with real sessions: PGlite runs one transaction at a time.
describe.runIf(postgresAvailable)("races on the real server", () => {
  const database = useTestDatabase("postgres", {
    max: 25,
    seed: async (db) => {
      await seedInstallation(db, 1);
    },
  });

  it("20 concurrent triggers for one target and job type leave one active job and 19 cancelled duplicates", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createJob(database.db, {
          job: makeNewJob({ targetNumber: 42, deliveryId: `delivery-${i}` }),
          at: T0,
          actor: "test",
        }),
      ),
    );
    const created = results.filter((r) => r.outcome === "created");
    const duplicates = results.filter((r) => r.outcome === "duplicate");
    expect(created).toHaveLength(1);
    expect(duplicates).toHaveLength(19);
    const winner = created[0]?.job.id;
    for (const d of duplicates) expect(d.job).toMatchObject({ status: "cancelled", duplicateOf: winner });
    const rows = await database.db.select().from(jobs).where(eq(jobs.targetNumber, 42));
    expect(rows.filter((r) => r.status === "pending")).toHaveLength(1);
    expect(rows.filter((r) => r.status === "cancelled")).toHaveLength(19);
  });

  it("the same delivery arriving 10 times at once records one job", async () => {
    const job = makeNewJob({ targetNumber: 43, deliveryId: "same-delivery" });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => createJob(database.db, { job, at: T0, actor: "test" })),
    );
    expect(results.filter((r) => r.outcome === "created")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "already_recorded")).toHaveLength(9);
    expect(await database.db.select().from(jobs).where(eq(jobs.targetNumber, 43))).toHaveLength(1);
  });

  it("two concurrent transitions from the same state: exactly one wins, the other sees the winner's result", async () => {
    for (let round = 0; round < 10; round++) {
      const job = await makeJob(database.db, { status: "queued" });
      const [a, b] = await Promise.all([
        transitionJob(database.db, { jobId: job.id, from: "queued", to: "running", at: T0, actor: "a" }),
        transitionJob(database.db, { jobId: job.id, from: "queued", to: "cancelled", at: T0, actor: "b" }),
      ]);
      const winners = [a, b].filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      const loser = [a, b].find((r) => !r.ok);
      expect(loser).toMatchObject({ ok: false, reason: "conflict", job: { status: winners[0]?.job.status } });
      const events = await database.db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id));
      expect(events.filter((e) => e.fromStatus === "queued")).toHaveLength(1);
    }
  });

  it.each([
    1, 3,
  ])("4 claimers on their own connections over 100 queued jobs, claiming up to %i at a time, claim each job exactly once", async (batch) => {
    for (let i = 0; i < 100; i++) await makeJob(database.db, { status: "queued" });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const claimers = Array.from({ length: 4 }, () => openPostgres({ url: database.url as string, max: 1 }));
    try {
      const claimedBy = await Promise.all(
        claimers.map(async (claimer, index) => {
          const ids: number[] = [];
          for (;;) {
            const jobs = await claimJobs(
              claimer.db,
              { workerId: `w${index}`, at: T0, leaseSeconds: 60, installationLimit: 1000 },
              batch,
            );
            if (!jobs.length) return ids;
            expect(jobs.length).toBeLessThanOrEqual(batch);
            ids.push(...jobs.map((job) => job.id));
          }
        }),
      );
      const all = claimedBy.flat();
      expect(all).toHaveLength(100);
      expect(new Set(all).size).toBe(100);
      expect(claimedBy.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
      const [row] = await queryRows<{ running: string; claims: string }>(
        database.db,
        sql`select (select count(*) from jobs where status = 'running') as running,
                   (select count(*) from job_events where code = 'CLAIMED') as claims`,
      );
      expect(row).toEqual({ running: "100", claims: "100" });
    } finally {
      await Promise.all(claimers.map((c) => c.close()));
    }
  });

  it.each([
    1, 3,
  ])("8 claimers at the same instant, claiming up to %i each, never push an installation over its limit of 2", async (batch) => {
    for (let i = 0; i < 20; i++) await makeJob(database.db, { status: "queued" });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const claimers = Array.from({ length: 8 }, () => openPostgres({ url: database.url as string, max: 1 }));
    try {
      for (let round = 0; round < 5; round++) {
        const claimedBy = await Promise.all(
          claimers.map((claimer, index) =>
            claimJobs(claimer.db, { workerId: `w${index}`, at: T0, leaseSeconds: 60, installationLimit: 2 }, batch),
          ),
        );
        const claimed = claimedBy.flat();
        expect(claimed).toHaveLength(2);
        const [row] = await queryRows<{ running: string }>(
          database.db,
          sql`select count(*) as running from jobs where status = 'running'`,
        );
        expect(row?.running).toBe("2");
        // Finish both so the next round has room for exactly two again.
        for (const job of claimed)
          await transitionJob(database.db, { jobId: job.id, from: "running", to: "completed", at: T0, actor: "test" });
      }
    } finally {
      await Promise.all(claimers.map((c) => c.close()));
    }
  });

  it.each([
    1, 4,
  ])("8 claimers over 3 installations, claiming up to %i each, keep each one under its limit and its job type's, and its counts exact", async (batch) => {
    for (const id of [2, 3]) await recordInstallation(database.db, { id, accountLogin: `org-${id}` }, T0);
    for (let i = 0; i < 30; i++)
      await makeJob(database.db, {
        status: "queued",
        installationId: 1 + (i % 3),
        jobType: i % 2 ? "review" : "implement",
      });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const claimers = Array.from({ length: 8 }, () => openPostgres({ url: database.url as string, max: 1 }));
    const claim = { at: T0, leaseSeconds: 60, installationLimit: 3, jobTypeLimits: { review: 1 } };
    try {
      // Each installation has 5 of each type: two full rounds (1 review and 2 implement each).
      for (let round = 0; round < 2; round++) {
        const claimedBy = await Promise.all(
          claimers.map(async (claimer, index) => {
            const mine = [];
            for (;;) {
              const jobs = await claimJobs(claimer.db, { ...claim, workerId: `w${index}` }, batch);
              if (!jobs.length) return mine;
              mine.push(...jobs);
            }
          }),
        );
        const claimed = claimedBy.flat();
        // Three installations, three slots each, of which one for a review.
        expect(claimed).toHaveLength(9);
        const perInstallation = await queryRows<{ id: string; running: string; reviews: string; counted: number }>(
          database.db,
          sql`select i.id, count(j.id) as running, count(j.id) filter (where j.job_type = 'review') as reviews,
                     i.running_count as counted
              from installations i left join jobs j on j.installation_id = i.id and j.status = 'running'
              group by i.id order by i.id`,
        );
        for (const row of perInstallation) {
          expect(Number(row.running)).toBeLessThanOrEqual(3);
          expect(Number(row.reviews)).toBeLessThanOrEqual(1);
          expect(row.counted).toBe(Number(row.running));
        }
        for (const job of claimed)
          await transitionJob(database.db, { jobId: job.id, from: "running", to: "completed", at: T0, actor: "test" });
      }
    } finally {
      await Promise.all(claimers.map((c) => c.close()));
    }
  });

  it("after the front of the queue was all at its limit, claims go installation by installation for a second, then look at the front again", async () => {
    await recordInstallation(database.db, { id: 2, accountLogin: "org-2" }, T0);
    await seedQueuedFront(database.db, 1, 100);
    for (let n = 0; n < 3; n++)
      await makeJob(database.db, { installationId: 2, status: "queued", targetNumber: 500 + n });
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 1, onQuery: (query) => statements.push(query) });
    const claimAt = (at: Date) =>
      claimNextJob(counted.db, { workerId: "w", at, leaseSeconds: 60, installationLimit: 1_000 });
    try {
      // Installation 1 (all 100 jobs at the front) is at its limit: only installation 2's jobs are claimable.
      await database.db.execute(sql`update installations set running_count = 1000 where id = 1`);
      const fronts = () => statements.filter((q) => q.includes("front as (")).length;
      expect((await claimAt(T0))?.installationId).toBe(2);
      expect(fronts()).toBe(1);
      expect((await claimAt(new Date(T0.getTime() + 500)))?.installationId).toBe(2);
      expect(fronts()).toBe(1);
      expect((await claimAt(new Date(T0.getTime() + 1_500)))?.installationId).toBe(2);
      expect(fronts()).toBe(2);
    } finally {
      await counted.close();
    }
  });
});
