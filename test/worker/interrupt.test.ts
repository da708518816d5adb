import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { actOnJob } from "../../src/jobs/job-actions.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { Worker } from "../../src/worker/worker.js";
import { mockAgentGitHub } from "../support/agent-github.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { pidsWith, uniqueMarker, waitUntil } from "../support/processes.js";
import { agentJobTypes, makeRunJobDeps } from "../support/worker-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`interrupting a running job on a worker (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 2) });
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeEach(() => mockAgentGitHub());
  afterEach(() => {
    nock.cleanAll();
  });

  it("/labelrun interrupt stops the agent's whole process group now and holds the job, paused, its attempt refunded", async () => {
    const marker = uniqueMarker();
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["hang", marker]),
      heartbeatMs: 60_000, // only the notification can tell the worker
    });
    const worker = new Worker(
      { ...deps, handle: database },
      { slots: 1, installationLimit: 2, pollIntervalMs: 200, shutdownGraceMs: 100 },
    );
    const job = await makeJob(database.db, {
      installationId: 2,
      repositoryId: 186853002,
      repositoryFullName: "Codertocat/Hello-World",
      targetNumber: 1,
      at: systemClock.now(),
    });
    await worker.start();
    try {
      await transitionJob(database.db, {
        jobId: job.id,
        from: "pending",
        to: "queued",
        at: systemClock.now(),
        actor: "test",
      });
      await waitUntil(() => pidsWith(marker).length >= 2, "the agent and its child to start", 20_000);
      const running = await getJob(database.db, job.id);
      expect(running).toMatchObject({ status: "running", attempt: 1 });
      const outcome = await actOnJob(database.db, systemClock, running as NonNullable<typeof running>, "interrupt", {
        actor: "github:octocat",
        by: "@octocat",
        approver: "octocat",
      });
      expect(outcome.done).toBe(true);
      await waitUntil(() => pidsWith(marker).length === 0, "the interrupt to stop the agent and its child", 5_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(await getJob(database.db, job.id)).toMatchObject({ status: "deferred", hold: "paused", attempt: 0 });
    } finally {
      await worker.stop();
    }
  }, 40_000);
});
