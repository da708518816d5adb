import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { applyJobAction } from "../../src/github/commands/run-command.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { Worker } from "../../src/worker/worker.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { api } from "../support/github-harness.js";
import { agentJobTypes, makeRunJobDeps } from "../support/worker-harness.js";

const driver = testDrivers[0] ?? "pglite";
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(`interrupting a running job on a worker (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 2) });
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeEach(() => {
    api()
      .persist()
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_interrupt", expires_at: "2099-01-01T00:00:00Z" })
      .get("/repos/Codertocat/Hello-World/issues/1")
      .reply(200, {
        number: 1,
        state: "open",
        title: "t",
        body: "",
        html_url: "https://github.com/x",
        labels: [],
        user: { login: "o" },
      });
  });
  afterEach(() => {
    nock.cleanAll();
  });

  it("/labelrun interrupt stops the agent's whole process group now and holds the job, paused, its attempt refunded", async () => {
    const pids = join(mkdtempSync(join(tmpdir(), "labelrun-pids-")), "pids.json");
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["hang", pids]),
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
      for (const started = Date.now(); !existsSync(pids); ) {
        if (Date.now() - started > 20_000) throw new Error("the agent never started");
        await new Promise((r) => setTimeout(r, 50));
      }
      const running = await getJob(database.db, job.id);
      expect(running).toMatchObject({ status: "running", attempt: 1 });
      const outcome = await applyJobAction(
        database.db,
        systemClock,
        running as NonNullable<typeof running>,
        "interrupt",
        {
          actor: "github:octocat",
          by: "@octocat",
          approver: "octocat",
        },
      );
      expect(outcome.done).toBe(true);
      const { agent, child } = JSON.parse(readFileSync(pids, "utf8")) as { agent: number; child: number };
      for (const started = Date.now(); isAlive(agent) || isAlive(child); ) {
        if (Date.now() - started > 5_000) throw new Error("the agent survived the interrupt");
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(await getJob(database.db, job.id)).toMatchObject({ status: "deferred", hold: "paused", attempt: 0 });
    } finally {
      await worker.stop();
    }
  }, 40_000);
});
