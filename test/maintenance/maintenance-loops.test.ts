import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { JobRow } from "../../src/db/schema.js";
import type { ChangedJob } from "../../src/github/job-services.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { startMaintenanceLoops } from "../../src/maintenance/maintenance-loop.js";
import { SWEEPS, sweepsOf } from "../../src/maintenance/run-sweeps.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { waitUntil } from "../support/processes.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000).toISOString();

describe("the maintenance's two loops", () => {
  it("every sweep belongs to one of them", () => {
    expect([...sweepsOf("jobs"), ...sweepsOf("github")].sort()).toEqual(SWEEPS.map(([name]) => name).sort());
  });
});

describe.each(testDrivers)("the job sweeps while GitHub holds every write (%s)", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db, 1);
    },
  });

  it("time out, requeue and hand back on time, and hand what GitHub should show to the comment queue", async () => {
    // GitHub's pace: every comment write and every reaction waits until the end of the test.
    let release = () => {};
    const paced = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waitingOnGitHub: string[] = [];
    const followed: ChangedJob[] = [];
    const { deps, clock } = makeSweepDeps(database.db, {
      syncComment: async (target) => {
        waitingOnGitHub.push(`comment ${target.targetNumber}`);
        await paced;
        return "written";
      },
      onJobChanged: async (job: JobRow) => {
        waitingOnGitHub.push(`reactions of ${job.id}`);
        await paced;
      },
    });
    // A finished job whose reactions are overdue (the GitHub loop starts on it and waits), and a
    // run past its time limit.
    const finished = await makeJob(database.db, { status: "completed", targetNumber: 1 });
    await database.db.execute(sql`update jobs set reaction_version = 1, reacted_version = 0,
      updated_at = ${at(-60)}::timestamptz where id = ${finished.id}`);
    const late = await makeJob(database.db, { status: "running", targetNumber: 2 });
    await database.db.execute(sql`update jobs set worker_id = 'w1', attempt = 1, started_at = ${at(-600)}::timestamptz,
      deadline_at = ${at(-120)}::timestamptz, lease_expires_at = ${at(600)}::timestamptz where id = ${late.id}`);

    const stop = startMaintenanceLoops({ ...deps, handle: database }, 3_000, (job) => followed.push(job));
    try {
      clock.advance(0);
      await waitUntil(async () => (await getJob(database.db, late.id))?.status === "failed", "the timeout");
      expect(await getJob(database.db, late.id)).toMatchObject({ failureCode: "TIMEOUT" });
      await waitUntil(() => waitingOnGitHub.includes(`reactions of ${finished.id}`), "the GitHub loop to wait");

      // While GitHub holds the other loop, a run is deferred for 5 s and a worker goes silent.
      const deferred = await makeJob(database.db, { status: "deferred", targetNumber: 3 });
      await database.db.execute(sql`update jobs set queued_at = created_at, attempt = 1,
        run_after = ${at(5)}::timestamptz where id = ${deferred.id}`);
      const silent = await makeJob(database.db, { status: "running", targetNumber: 4 });
      await database.db.execute(sql`update jobs set worker_id = 'w2', attempt = 1, started_at = ${at(0)}::timestamptz,
        deadline_at = ${at(3600)}::timestamptz, lease_expires_at = ${at(4)}::timestamptz where id = ${silent.id}`);
      for (let tick = 1; tick <= 2; tick++) {
        // Each tick's timer is set once the tick before has settled.
        await waitUntil(() => clock.pending > 0, `tick ${tick} to be scheduled`);
        clock.advance(3_000);
      }
      await waitUntil(async () => (await getJob(database.db, deferred.id))?.status === "queued", "the requeue");
      await waitUntil(async () => (await getJob(database.db, silent.id))?.status !== "running", "the hand-back");
      expect(await getJob(database.db, silent.id)).toMatchObject({ status: "deferred", failureCode: "WORKER_LOST" });

      // What their moves should show went to the comment queue; nothing of theirs waited on GitHub.
      expect(followed.map((job) => job.id).sort((a, b) => a - b)).toEqual([late.id, deferred.id, silent.id]);
      expect(waitingOnGitHub).toEqual([`reactions of ${finished.id}`]);
    } finally {
      release();
      await stop();
    }
  });
});
