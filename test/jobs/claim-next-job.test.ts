import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { setInstallationSuspended } from "../../src/db/installations.js";
import { installations, jobs } from "../../src/db/schema.js";
import { claimAndLook, claimJobs, claimNextJob } from "../../src/jobs/claim-next-job.js";
import { listJobEvents } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { transitionJobs } from "../../src/jobs/transition-jobs.js";
import { type TestDatabase, testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, seedQueuedFront, T0 } from "../support/factories.js";

const claim = { workerId: "w1", at: T0, leaseSeconds: 60, installationLimit: 2 };

async function queue(database: TestDatabase, overrides: Parameters<typeof makeJob>[1] = {}) {
  const job = await makeJob(database.db, overrides);
  const at = overrides.at ?? T0;
  await transitionJob(database.db, { jobId: job.id, from: "pending", to: "queued", at, actor: "test" });
  return job;
}

describe.each(testDrivers)("claimNextJob on %s", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db, 1);
      await seedInstallation(db, 2);
    },
  });

  it("claims the oldest queued job and moves it to running under the worker with a lease and a deadline", async () => {
    const older = await queue(database, { at: new Date(T0.getTime() - 2000), timeoutSeconds: 600 });
    await queue(database, { at: new Date(T0.getTime() - 1000) });
    const claimed = await claimNextJob(database.db, claim);
    expect(claimed).toMatchObject({
      id: older.id,
      status: "running",
      workerId: "w1",
      attempt: 1,
      startedAt: T0,
      leaseExpiresAt: new Date(T0.getTime() + 60_000),
      deadlineAt: new Date(T0.getTime() + 600_000),
    });
    expect((await listJobEvents(database.db, older.id)).at(-1)).toMatchObject({
      fromStatus: "queued",
      toStatus: "running",
      actor: "worker:w1",
      code: "CLAIMED",
    });
  });

  it("returns null when nothing is queued", async () => {
    await makeJob(database.db, { status: "pending" });
    expect(await claimNextJob(database.db, claim)).toBeNull();
  });

  it("does not claim past the installation's limit but moves on to another installation", async () => {
    for (let i = 0; i < 3; i++) await queue(database, { installationId: 1 });
    const other = await queue(database, { installationId: 2, at: new Date(T0.getTime() + 1) });
    const first = await claimNextJob(database.db, claim);
    const second = await claimNextJob(database.db, claim);
    const third = await claimNextJob(database.db, claim);
    expect([first?.installationId, second?.installationId]).toEqual([1, 1]);
    expect(third?.id).toBe(other.id);
    expect(await claimNextJob(database.db, claim)).toBeNull();
  });

  it("claims several at once: the oldest job and its installation's next ones in queue order, as many as its free slots", async () => {
    const at = (ms: number) => new Date(T0.getTime() + ms);
    const a1 = await queue(database, { installationId: 1, at: at(1) });
    await queue(database, { installationId: 2, at: at(2) });
    const a2 = await queue(database, { installationId: 1, at: at(3) });
    await queue(database, { installationId: 1, at: at(4) });
    const limits = { ...claim, installationLimit: 3 };
    // One of installation 1's three slots is taken by a job running elsewhere.
    await makeJob(database.db, { installationId: 1, status: "running" });

    const claimed = await claimJobs(database.db, limits, 5);
    expect(claimed.map((job) => job.id)).toEqual([a1.id, a2.id]);
    expect(claimed.every((job) => job.status === "running" && job.workerId === "w1")).toBe(true);
    for (const job of claimed)
      expect((await listJobEvents(database.db, job.id)).at(-1)).toMatchObject({ toStatus: "running", code: "CLAIMED" });
    const [installation] = await database.db.select().from(installations).where(eq(installations.id, 1));
    expect(installation?.runningCount).toBe(3);
    // Installation 1 is full: the next claim goes to installation 2.
    expect((await claimJobs(database.db, limits, 5)).map((job) => job.installationId)).toEqual([2]);
    expect(await claimJobs(database.db, limits, 5)).toEqual([]);
  });

  it("claiming several, an older job of a type at its limit does not hold back the others", async () => {
    const at = (ms: number) => new Date(T0.getTime() + ms);
    const limits = { ...claim, installationLimit: 3, jobTypeLimits: { review: 1 } };
    await queue(database, { jobType: "review", at: at(1) });
    const [review] = await claimJobs(database.db, limits, 1);
    expect(review?.jobType).toBe("review");
    await queue(database, { jobType: "review", at: at(2) });
    const implement = await queue(database, { jobType: "implement", at: at(3) });
    const second = await queue(database, { jobType: "implement", at: at(4) });
    await queue(database, { jobType: "implement", at: at(5) });
    expect((await claimJobs(database.db, limits, 3)).map((job) => job.id)).toEqual([implement.id, second.id]);
  });

  it("tries an announced job first; one that is not claimable leaves the claim to the queue", async () => {
    const older = await queue(database, { installationId: 1, at: new Date(T0.getTime() - 2000) });
    const announced = await queue(database, { installationId: 2, at: new Date(T0.getTime() - 1000) });
    expect((await claimJobs(database.db, { ...claim, first: announced.id }, 1)).map((j) => j.id)).toEqual([
      announced.id,
    ]);
    // Already running: the claim takes the oldest job of the queue instead.
    expect((await claimJobs(database.db, { ...claim, first: announced.id }, 1)).map((j) => j.id)).toEqual([older.id]);
    const held = await queue(database, { installationId: 2 });
    await database.db.update(jobs).set({ hold: "paused" }).where(eq(jobs.id, held.id));
    expect(await claimJobs(database.db, { ...claim, first: held.id }, 1)).toEqual([]);
  });

  it("refuses a limit that is not a whole number (it goes into the statement as a literal)", async () => {
    await queue(database);
    for (const installationLimit of [1.5, -1, Number.NaN, "1; drop table jobs" as unknown as number])
      await expect(claimNextJob(database.db, { ...claim, installationLimit })).rejects.toThrow(RangeError);
    expect((await claimNextJob(database.db, claim))?.status).toBe("running");
  });

  it("honours a lower limit for a job type", async () => {
    await queue(database, { jobType: "review" });
    await queue(database, { jobType: "review" });
    const implement = await queue(database, { jobType: "implement", at: new Date(T0.getTime() + 1) });
    const limits = { ...claim, jobTypeLimits: { review: 1 } };
    expect((await claimNextJob(database.db, limits))?.jobType).toBe("review");
    expect((await claimNextJob(database.db, limits))?.id).toBe(implement.id);
    expect(await claimNextJob(database.db, limits)).toBeNull();
  });

  it("skips jobs of a suspended installation, deferred-until-later jobs and held jobs", async () => {
    await queue(database, { installationId: 2 });
    await setInstallationSuspended(database.db, 2, T0, T0);
    const later = await queue(database, { installationId: 1 });
    await database.db
      .update(jobs)
      .set({ runAfter: new Date(T0.getTime() + 60_000) })
      .where(eq(jobs.id, later.id));
    const held = await queue(database, { installationId: 1 });
    await database.db.update(jobs).set({ hold: "paused" }).where(eq(jobs.id, held.id));
    expect(await claimNextJob(database.db, claim)).toBeNull();
    const inAMinute = await claimNextJob(database.db, { ...claim, at: new Date(T0.getTime() + 60_000) });
    expect(inAMinute?.id).toBe(later.id);
  });

  it("claims of one shape share a statement and each uses its own worker, time, lease, job types and announced job", async () => {
    const implement = await queue(database, { jobType: "implement", at: new Date(T0.getTime() - 3000) });
    const review = await queue(database, { jobType: "review", at: new Date(T0.getTime() - 2000) });
    const announced = await queue(database, {
      jobType: "review",
      installationId: 2,
      at: new Date(T0.getTime() - 1000),
    });
    const later = new Date(T0.getTime() + 5000);
    const [first] = await claimJobs(database.db, { ...claim, jobTypes: ["implement"] }, 2);
    const [second] = await claimJobs(
      database.db,
      { workerId: "w2", at: later, leaseSeconds: 30, installationLimit: 2, jobTypes: ["review"] },
      2,
    );
    expect(first).toMatchObject({ id: implement.id, workerId: "w1", startedAt: T0 });
    expect(first?.leaseExpiresAt).toEqual(new Date(T0.getTime() + 60_000));
    expect(second).toMatchObject({ id: review.id, workerId: "w2", startedAt: later });
    expect(second?.leaseExpiresAt).toEqual(new Date(later.getTime() + 30_000));
    expect((await listJobEvents(database.db, review.id)).at(-1)).toMatchObject({ actor: "worker:w2", at: later });
    // Two claims going first for an announced job each try their own.
    await queue(database, { jobType: "review", installationId: 2, at: new Date(T0.getTime() - 4000) });
    const other = await queue(database, { jobType: "review", installationId: 2, at: new Date(T0.getTime() - 500) });
    const [third] = await claimJobs(
      database.db,
      { ...claim, workerId: "w3", jobTypes: ["review"], first: other.id },
      2,
    );
    const [fourth] = await claimJobs(
      database.db,
      { ...claim, workerId: "w4", jobTypes: ["review"], first: announced.id },
      2,
    );
    expect(third).toMatchObject({ id: other.id, workerId: "w3" });
    expect(fourth).toMatchObject({ id: announced.id, workerId: "w4" });
  });

  it("tells whether more jobs this worker runs were due than it took, claimable or not", async () => {
    const look = (max: number, at = T0) => claimAndLook(database.db, { ...claim, at, jobTypes: ["implement"] }, max);
    await queue(database, { jobType: "implement", at: new Date(T0.getTime() - 3000) });
    await queue(database, { jobType: "implement", at: new Date(T0.getTime() - 2000) });
    const soon = await queue(database, { jobType: "implement", at: new Date(T0.getTime() - 1000) });
    await database.db
      .update(jobs)
      .set({ runAfter: new Date(T0.getTime() + 60_000) })
      .where(eq(jobs.id, soon.id));
    await queue(database, { jobType: "review", installationId: 2 });
    // The second implement job is due: true.
    expect(await look(1)).toMatchObject({ jobs: [{ jobType: "implement" }], moreDue: true });
    // Only a job not due yet and a job of a type it does not run are left: false.
    expect(await look(2)).toMatchObject({ jobs: [{ jobType: "implement" }], moreDue: false });
    // A minute on, the third is due but its installation is at its limit (2): nothing claimed, more due.
    expect(await look(1, new Date(T0.getTime() + 60_000))).toEqual({ jobs: [], moreDue: true });
  });

  it("tells whether more jobs were due when it went straight to an announced job", async () => {
    const first = await queue(database, { jobType: "implement", at: new Date(T0.getTime() - 2000) });
    const second = await queue(database, {
      jobType: "implement",
      installationId: 2,
      at: new Date(T0.getTime() - 1000),
    });
    const look = (announced: number) => claimAndLook(database.db, { ...claim, first: announced }, 1);
    expect(await look(second.id)).toMatchObject({ jobs: [{ id: second.id }], moreDue: true });
    expect(await look(first.id)).toMatchObject({ jobs: [{ id: first.id }], moreDue: false });
  });

  it("tells more jobs are due past a full front of the queue, and none once the last is taken", async () => {
    for (let n = 0; n < 70; n++) await queue(database, { targetNumber: n, at: new Date(T0.getTime() - 70_000 + n) });
    const look = (max: number) => claimAndLook(database.db, { ...claim, installationLimit: 100 }, max);
    const many = await look(64);
    expect(many.jobs).toHaveLength(64);
    expect(many.moreDue).toBe(true);
    const rest = await look(10);
    expect(rest.jobs.map((job) => job.targetNumber)).toEqual([64, 65, 66, 67, 68, 69]);
    expect(rest.moreDue).toBe(false);
  });

  it("only claims the job types a worker asks for", async () => {
    await queue(database, { jobType: "review" });
    expect(await claimNextJob(database.db, { ...claim, jobTypes: ["implement"] })).toBeNull();
    expect((await claimNextJob(database.db, { ...claim, jobTypes: ["implement", "review"] }))?.jobType).toBe("review");
  });

  it("finds a claimable job behind the queued jobs of nine installations at their limit", async () => {
    for (let id = 3; id <= 10; id++) await seedInstallation(database.db, id);
    for (let id = 1; id <= 9; id++) {
      await makeJob(database.db, { installationId: id, status: "running", targetNumber: 100 + id });
      await queue(database, { installationId: id, targetNumber: 200 + id, at: new Date(T0.getTime() - 60_000) });
    }
    const behind = await queue(database, { installationId: 10, targetNumber: 300 });
    expect((await claimNextJob(database.db, { ...claim, installationLimit: 1 }))?.id).toBe(behind.id);
  });

  it("keeps each installation's running counts exact through every move into and out of running", async () => {
    const { db } = database;
    const counts = async () =>
      (
        await db
          .select({ id: installations.id, all: installations.runningCount, byType: installations.runningByType })
          .from(installations)
          .orderBy(installations.id)
      ).map(({ id, all, byType }) => ({
        id,
        all,
        byType: Object.fromEntries(Object.entries(byType).filter(([, n]) => n)),
      }));
    const review = await queue(database, { jobType: "review" });
    const implement = await queue(database, { jobType: "implement", installationId: 2 });
    const inserted = await makeJob(db, { jobType: "review", status: "running", targetNumber: 50 });
    await claimNextJob(db, claim);
    await claimNextJob(db, claim);
    expect(await counts()).toEqual([
      { id: 1, all: 2, byType: { review: 2 } },
      { id: 2, all: 1, byType: { implement: 1 } },
    ]);
    await transitionJob(db, { jobId: review.id, from: "running", to: "completed", at: T0, actor: "test" });
    await transitionJobs(db, {
      ids: [implement.id],
      from: "running",
      to: "failed",
      at: T0,
      actor: "test",
      code: "TIMEOUT",
    });
    expect(await counts()).toEqual([
      { id: 1, all: 1, byType: { review: 1 } },
      { id: 2, all: 0, byType: {} },
    ]);
    await db.delete(jobs).where(eq(jobs.id, inserted.id));
    expect(await counts()).toEqual([
      { id: 1, all: 0, byType: {} },
      { id: 2, all: 0, byType: {} },
    ]);
  });

  it("looks installation by installation when the whole front of the queue belongs to an installation at its limit", async () => {
    await makeJob(database.db, { installationId: 1, status: "running", targetNumber: 1 });
    // 100 older jobs of installation 1 (at its limit of 1): more than a claim looks at in the queue's front.
    await seedQueuedFront(database.db, 1, 100);
    await queue(database, { installationId: 2, jobType: "review", targetNumber: 500 });
    const implement = await queue(database, { installationId: 2, jobType: "implement", targetNumber: 501 });
    const limits = { ...claim, installationLimit: 1, jobTypeLimits: { review: 0 } };
    expect((await claimNextJob(database.db, limits))?.id).toBe(implement.id);
    expect(await claimNextJob(database.db, limits)).toBeNull();
  });
});
