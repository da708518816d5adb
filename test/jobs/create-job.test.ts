import { describe, expect, it } from "vitest";
import { getInstallation } from "../../src/db/installations.js";
import { createJob } from "../../src/jobs/create-job.js";
import { findActiveJobs, listJobEvents } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeNewJob, seedInstallation, T0 } from "../support/factories.js";

describe.each(testDrivers)("createJob on %s", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db);
    },
  });

  it("a first trigger records a pending job with its creation event", async () => {
    const result = await createJob(database.db, {
      job: makeNewJob({ targetNumber: 7 }),
      at: T0,
      actor: "github:octocat",
    });
    expect(result.outcome).toBe("created");
    expect(result.job).toMatchObject({ status: "pending", targetNumber: 7, retryOf: null, retryNumber: 0, attempt: 0 });
    expect(await listJobEvents(database.db, result.job.id)).toMatchObject([
      { fromStatus: null, toStatus: "pending", code: "CREATED", actor: "github:octocat" },
    ]);
  });

  it("a duplicate label while a job runs records a cancelled job that points at the running one", async () => {
    const { db } = database;
    const first = await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    await transitionJob(db, { jobId: first.job.id, from: "pending", to: "queued", at: T0, actor: "test" });
    const second = await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    expect(second.outcome).toBe("duplicate");
    if (second.outcome !== "duplicate") return;
    expect(second.activeJob.id).toBe(first.job.id);
    expect(second.job).toMatchObject({
      status: "cancelled",
      duplicateOf: first.job.id,
      failureCode: "DUPLICATE",
      failureMessage: `duplicate of job ${first.job.id}, which was queued when this trigger arrived`,
      finishedAt: T0,
    });
    expect(await listJobEvents(db, second.job.id)).toMatchObject([
      { fromStatus: null, toStatus: "cancelled", code: "DUPLICATE" },
    ]);
    expect((await findActiveJobs(db, { repositoryId: 100, targetNumber: 7 })).map((j) => j.id)).toEqual([first.job.id]);
  });

  it("another job type on the same issue is not a duplicate", async () => {
    const { db } = database;
    await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    const review = await createJob(db, {
      job: makeNewJob({ targetNumber: 7, jobType: "review" }),
      at: T0,
      actor: "test",
    });
    expect(review.outcome).toBe("created");
  });

  it("the same delivery id submitted twice records one job", async () => {
    const { db } = database;
    const job = makeNewJob({ targetNumber: 7, deliveryId: "d-1" });
    const first = await createJob(db, { job, at: T0, actor: "test" });
    const again = await createJob(db, { job, at: T0, actor: "test" });
    expect(again).toEqual({ outcome: "already_recorded", job: first.job });
    expect(await findActiveJobs(db, { repositoryId: 100, targetNumber: 7 })).toHaveLength(1);
  });

  it("a trigger after the last job ended is a retry that points at it and counts", async () => {
    const { db } = database;
    const first = await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    await transitionJob(db, {
      jobId: first.job.id,
      from: "pending",
      to: "failed",
      at: T0,
      actor: "test",
      code: "AGENT_ERROR",
    });
    const retry = await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    expect(retry.job).toMatchObject({ status: "pending", retryOf: first.job.id, retryNumber: 1 });
    await transitionJob(db, { jobId: retry.job.id, from: "pending", to: "cancelled", at: T0, actor: "test" });
    const third = await createJob(db, { job: makeNewJob({ targetNumber: 7 }), at: T0, actor: "test" });
    expect(third.job).toMatchObject({ retryOf: retry.job.id, retryNumber: 2 });
    expect((await listJobEvents(db, third.job.id))[0]).toMatchObject({
      code: "RETRY",
      message: `retry of job ${retry.job.id}`,
    });
  });

  it("the job of an installation never recorded records it in the job's own statement; a recorded one is left as it is", async () => {
    const { db } = database;
    const installation = { id: 77, accountLogin: "newcomer", accountType: "Organization" };
    const first = await createJob(db, {
      job: makeNewJob({ installationId: 77, targetNumber: 8 }),
      at: T0,
      actor: "test",
      installation,
    });
    expect(first.outcome).toBe("created");
    expect(await getInstallation(db, 77)).toMatchObject({ accountLogin: "newcomer", createdAt: T0 });
    await createJob(db, {
      job: makeNewJob({ installationId: 77, targetNumber: 9 }),
      at: new Date(T0.getTime() + 60_000),
      actor: "test",
      installation: { ...installation, accountLogin: "renamed" },
    });
    expect(await getInstallation(db, 77)).toMatchObject({ accountLogin: "newcomer", updatedAt: T0 });
  });
});
