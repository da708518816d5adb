import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { commentCommands, jobEvents, jobLogs, jobs, maintenanceState, redeliveries } from "../../src/db/schema.js";
import type { HookDelivery } from "../../src/github/port.js";
import { markCommentDirty } from "../../src/github/status-comment/status-comment-store.js";
import { getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import type { JobState } from "../../src/jobs/states.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { recoverWorkerJobs } from "../../src/maintenance/sweeps/sweep-running-jobs.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

const MIN = 60_000;
const ago = (ms: number) => new Date(T0.getTime() - ms);

describe.each(testDrivers)("maintenance sweeps (%s)", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db, 1);
    },
  });

  /** A job in `status` with columns set as a scenario needs them (a fixture, not a transition under test). */
  async function jobIn(status: JobState, set: Partial<typeof jobs.$inferInsert> = {}) {
    const job = await makeJob(database.db, { status, at: ago(60 * MIN) });
    await database.db.update(jobs).set(set).where(eq(jobs.id, job.id));
    return job.id;
  }
  const statusOf = async (id: number) => (await getJob(database.db, id))?.status;

  it("fails running jobs past their deadline plus grace with TIMEOUT and leaves the rest alone", async () => {
    const { deps, calls } = makeSweepDeps(database.db);
    const late = await jobIn("running", {
      deadlineAt: ago(2 * MIN),
      leaseExpiresAt: new Date(T0.getTime() + MIN),
      workerId: "w",
      attempt: 1,
      timeoutSeconds: 2700,
    });
    const inGrace = await jobIn("running", {
      deadlineAt: ago(30_000),
      leaseExpiresAt: new Date(T0.getTime() + MIN),
      workerId: "w",
      attempt: 1,
    });
    const onTime = await jobIn("running", {
      deadlineAt: new Date(T0.getTime() + MIN),
      leaseExpiresAt: new Date(T0.getTime() + MIN),
      workerId: "w",
      attempt: 1,
    });
    const done = await jobIn("completed", { deadlineAt: ago(10 * MIN) });
    const reports = await runSweeps(deps, ["timeouts"]);
    expect(reports).toMatchObject([{ name: "timeouts", moved: 1 }]);
    expect(await getJob(database.db, late)).toMatchObject({
      status: "failed",
      failureCode: "TIMEOUT",
      failureMessage: "ran past its time limit of 45 minutes; the maintenance sweep stopped it",
    });
    expect((await listJobEvents(database.db, late)).at(-1)).toMatchObject({
      actor: "maintenance",
      code: "TIMEOUT",
      fromStatus: "running",
      toStatus: "failed",
    });
    expect([await statusOf(inGrace), await statusOf(onTime), await statusOf(done)]).toEqual([
      "running",
      "running",
      "completed",
    ]);
    expect(calls.changed.map((j) => j.id)).toEqual([late]);
  });

  it("hands back jobs of lost workers for a prompt retry, or abandons them when their attempts are spent", async () => {
    const { deps } = makeSweepDeps(database.db);
    const lost = await jobIn("running", {
      leaseExpiresAt: ago(MIN),
      workerId: "gone",
      attempt: 1,
      maxAttempts: 3,
      deadlineAt: new Date(T0.getTime() + MIN),
    });
    const lastTry = await jobIn("running", {
      leaseExpiresAt: ago(MIN),
      workerId: "gone",
      attempt: 3,
      maxAttempts: 3,
      deadlineAt: new Date(T0.getTime() + MIN),
    });
    const alive = await jobIn("running", {
      leaseExpiresAt: new Date(T0.getTime() + 10_000),
      workerId: "here",
      attempt: 1,
      deadlineAt: new Date(T0.getTime() + MIN),
    });
    await runSweeps(deps, ["lost_workers"]);
    expect(await getJob(database.db, lost)).toMatchObject({
      status: "deferred",
      failureCode: "WORKER_LOST",
      runAfter: T0,
    });
    expect(await getJob(database.db, lastTry)).toMatchObject({ status: "abandoned", failureCode: "MAX_ATTEMPTS" });
    expect((await getJob(database.db, lastTry))?.failureMessage).toMatch(
      /^gave up after 3 attempts: worker gone stopped answering/,
    );
    expect(await statusOf(alive)).toBe("running");
  });

  it("requeues due deferred jobs, abandons spent ones, re-dispatches never-queued ones and leaves held and not-yet-due jobs", async () => {
    const { deps, calls } = makeSweepDeps(database.db);
    const due = await jobIn("deferred", { runAfter: ago(1000), queuedAt: ago(MIN), attempt: 1, maxAttempts: 3 });
    const spent = await jobIn("deferred", {
      runAfter: ago(1000),
      queuedAt: ago(MIN),
      attempt: 3,
      maxAttempts: 3,
      failureMessage: "the model is overloaded",
    });
    const rateLimitedAtDispatch = await jobIn("deferred", {
      runAfter: ago(1000),
      queuedAt: null,
      failureCode: "RATE_LIMITED",
    });
    const later = await jobIn("deferred", { runAfter: new Date(T0.getTime() + MIN), queuedAt: ago(MIN) });
    const held = await jobIn("deferred", { runAfter: ago(MIN), queuedAt: ago(MIN), hold: "paused" });
    await runSweeps(deps, ["deferred"]);
    expect(await getJob(database.db, due)).toMatchObject({ status: "queued", queuedAt: T0 });
    expect(await getJob(database.db, spent)).toMatchObject({
      status: "abandoned",
      failureCode: "MAX_ATTEMPTS",
      failureMessage: "gave up after 3 attempts; the last one: the model is overloaded",
    });
    expect(calls.dispatched).toEqual([rateLimitedAtDispatch]);
    expect([await statusOf(later), await statusOf(held)]).toEqual(["deferred", "deferred"]);
  });

  it("never requeues a held job on time alone, but abandons one held longer than the maximum wait", async () => {
    const { deps } = makeSweepDeps(database.db);
    const old = await jobIn("pending", { hold: "awaiting_approval", updatedAt: ago(15 * 24 * 60 * MIN) });
    const recent = await jobIn("pending", { hold: "awaiting_approval", updatedAt: ago(13 * 24 * 60 * MIN) });
    await runSweeps(deps, ["long_held", "deferred", "stale_pending"]);
    expect(await getJob(database.db, old)).toMatchObject({
      status: "abandoned",
      failureMessage: "waited more than 14 days (awaiting approval); abandoned",
    });
    expect(await getJob(database.db, recent)).toMatchObject({ status: "pending", hold: "awaiting_approval" });
  });

  it("dispatches pending jobs its dispatcher left behind, not fresh or held ones", async () => {
    const { deps, calls } = makeSweepDeps(database.db);
    const stale = await jobIn("pending", { createdAt: ago(20_000) });
    await jobIn("pending", { createdAt: ago(5_000) });
    await jobIn("pending", { createdAt: ago(20 * MIN), hold: "paused" });
    await runSweeps(deps, ["stale_pending"]);
    expect(calls.dispatched).toEqual([stale]);
  });

  it("writes again status comments whose last write failed, not ones a writer is on right now", async () => {
    const { deps, calls } = makeSweepDeps(database.db);
    const target = { installationId: 1, repositoryId: 100, repositoryFullName: "octo-org/widgets" };
    await markCommentDirty(database.db, { ...target, targetNumber: 1 }, ago(MIN));
    await markCommentDirty(database.db, { ...target, targetNumber: 2 }, ago(1000));
    await runSweeps(deps, ["status_comments"]);
    expect(calls.synced).toEqual([1]);
  });

  it("carries out comment commands a stopped process left behind, not ones just recorded", async () => {
    const { deps, calls } = makeSweepDeps(database.db);
    const row = {
      installationId: 1,
      repositoryId: 100,
      repositoryFullName: "octo-org/widgets",
      targetNumber: 1,
      author: "octocat",
      command: "cancel",
    };
    await database.db.insert(commentCommands).values([
      { ...row, commentId: 1, createdAt: ago(MIN) },
      { ...row, commentId: 2, createdAt: ago(1000) },
      { ...row, commentId: 3, createdAt: ago(MIN), state: "done" },
    ]);
    await runSweeps(deps, ["left_commands"]);
    expect(calls.commands).toEqual([1]);
  });

  it("prunes logs and events of jobs finished before the retention period, keeping the job rows", async () => {
    const { deps } = makeSweepDeps(database.db);
    const old = await jobIn("completed", { finishedAt: ago(31 * 24 * 60 * MIN) });
    const recent = await jobIn("completed", { finishedAt: ago(29 * 24 * 60 * MIN) });
    for (const jobId of [old, recent]) {
      await database.db.insert(jobLogs).values({ jobId, attempt: 1, seq: 0, stream: "stdout", line: "hello", at: T0 });
    }
    await runSweeps(deps, ["retention"]);
    expect(await getJob(database.db, old)).toMatchObject({ status: "completed", prunedAt: T0 });
    expect(await database.db.select().from(jobLogs).where(eq(jobLogs.jobId, old))).toEqual([]);
    expect(await database.db.select().from(jobEvents).where(eq(jobEvents.jobId, old))).toEqual([]);
    expect(await database.db.select().from(jobLogs).where(eq(jobLogs.jobId, recent))).toHaveLength(1);
    // A second tick finds nothing more to do.
    expect(await runSweeps(deps, ["retention"])).toMatchObject([{ moved: 0 }]);
  });

  it("each sweep moves at most a batch per tick", async () => {
    const { deps } = makeSweepDeps(database.db);
    deps.settings.batchSize = 2;
    for (let i = 0; i < 5; i++)
      await jobIn("running", {
        leaseExpiresAt: ago(MIN),
        workerId: "gone",
        attempt: 1,
        deadlineAt: new Date(T0.getTime() + MIN),
      });
    expect(await runSweeps(deps, ["lost_workers"])).toMatchObject([{ moved: 2 }]);
    expect(await runSweeps(deps, ["lost_workers"])).toMatchObject([{ moved: 2 }]);
    expect(await runSweeps(deps, ["lost_workers"])).toMatchObject([{ moved: 1 }]);
  });

  it("a restarted worker hands back the jobs its previous run held, at once", async () => {
    const { deps } = makeSweepDeps(database.db);
    const mine = await jobIn("running", {
      workerId: "dyno.1",
      attempt: 1,
      leaseExpiresAt: new Date(T0.getTime() + MIN),
    });
    const theirs = await jobIn("running", {
      workerId: "dyno.2",
      attempt: 1,
      leaseExpiresAt: new Date(T0.getTime() + MIN),
    });
    expect(await recoverWorkerJobs(deps, "dyno.1")).toBe(1);
    expect(await getJob(database.db, mine)).toMatchObject({ status: "deferred", failureCode: "WORKER_LOST" });
    expect(await statusOf(theirs)).toBe("running");
  });

  it("asks GitHub to redeliver each failed delivery once, across pages, and leaves successful ones alone", async () => {
    const d = (id: number, guid: string, statusCode: number, minutesAgo: number, redelivery = false): HookDelivery => ({
      id,
      guid,
      statusCode,
      redelivery,
      event: "issues",
      deliveredAt: ago(minutesAgo * MIN),
    });
    const pages: Record<string, { deliveries: HookDelivery[]; next: string | null }> = {
      first: { deliveries: [d(6, "g6", 200, 1), d(5, "g5", 502, 2), d(4, "g4", 200, 3, true)], next: "page2" },
      page2: { deliveries: [d(3, "g4", 500, 10), d(2, "g2", 0, 20), d(1, "g1", 500, 90)], next: "page3" },
    };
    const asked: number[] = [];
    const listed: Array<string | null> = [];
    const { deps } = makeSweepDeps(database.db, {
      deliveries: {
        list: async (cursor) => {
          listed.push(cursor);
          return pages[cursor ?? "first"] ?? { deliveries: [], next: null };
        },
        redeliver: async (id) => {
          asked.push(id);
        },
      },
    });
    expect(await runSweeps(deps, ["failed_deliveries"])).toMatchObject([{ moved: 2 }]);
    // g5 failed; g4 failed but its redelivery succeeded; g2 timed out (0); g1 is older than the first look-back.
    expect(asked.sort()).toEqual([2, 5]);
    expect(listed).toEqual([null, "page2"]);
    expect((await database.db.select().from(redeliveries)).map((r) => r.guid).sort()).toEqual(["g2", "g5"]);
    asked.length = 0;
    expect(await runSweeps(deps, ["failed_deliveries"])).toMatchObject([{ moved: 0 }]);
    expect(asked).toEqual([]);
    // The next sweep starts from a little before this one (deliveries in flight are looked at again).
    const [state] = await database.db.select().from(maintenanceState);
    expect(state).toMatchObject({ key: "redelivery.since", value: { since: ago(5 * MIN).toISOString() } });
  });
});
