import { createHmac } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createIntake } from "../../src/app.js";
import { systemClock } from "../../src/clock.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import { buildJobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { getStatusComment, isBehind } from "../../src/github/status-comment/status-comment-store.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { findJobsForTarget } from "../../src/jobs/find-jobs.js";
import { WEBHOOK_PATH } from "../../src/web/webhook-route.js";
import { finish } from "../../src/worker/finish-run.js";
import type { RunJobDeps } from "../../src/worker/run-job.js";
import { labeled, REPO, unlabeled } from "../fixtures/webhooks.js";
import { openTestDatabase, postgresAvailable, type TestDatabase } from "../support/databases.js";
import { makeProbot, TEST_JOB_TYPES, WEBHOOK_SECRET } from "../support/github-harness.js";
import { GitHubModel } from "../support/github-model.js";
import { httpRequest } from "../support/http.js";
import { waitUntil } from "../support/processes.js";
import { startTestWeb } from "../support/web-harness.js";

/**
 * The two stale comments users saw, replayed through the webhook endpoint over
 * HTTP with comment writes paced as Probot paces them (300 ms each), and no
 * maintenance sweep: the accelerators alone must leave the comment true.
 */
describe.runIf(postgresAvailable)("the status comment over HTTP, with slow comment writes and no sweep", () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  const github = new GitHubModel();
  const log = pino({ level: "silent" });
  const after = new AfterResponseTasks(log);
  let services: ReturnType<typeof buildJobServices>;
  let delivery = 0;

  beforeAll(async () => {
    database = await openTestDatabase("postgres", { max: 30 });
    const probot = makeProbot(log);
    const collaborators = {
      db: database.db,
      github: octokitPort((id) => probot.auth(id) as never),
      jobTypes: TEST_JOB_TYPES,
      clock: systemClock,
      log,
      writerId: "http",
    };
    services = buildJobServices({ ...collaborators, commentQueue: after });
    const intake = buildIntakeDeps({ ...collaborators, after, commentQueue: after });
    web = await startTestWeb(database, { receiveWebhook: createIntake(intake) });
  });
  afterAll(async () => {
    await web.close();
    await after.idle();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
    github.reset();
    github.install();
    github.writeDelayMs = 300;
  });

  const post = async (event: { name: string; payload: Record<string, unknown> }) => {
    const body = JSON.stringify(event.payload);
    const response = await httpRequest(`${web.base}${WEBHOOK_PATH}`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": event.name,
        "x-github-delivery": `truth-${++delivery}`,
        "x-hub-signature-256": `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`,
      },
    });
    expect(response.status).toBeLessThan(300);
  };
  /** A worker slot: the claim, and the worker's own call after it (as run-job makes). */
  const worker = {
    db: () => database.db,
    deps: () =>
      ({
        db: database.db,
        clock: systemClock,
        settings: { workerId: "w1" },
        onJobChanged: services.onJobChanged,
      }) as unknown as RunJobDeps,
    async claim() {
      const job = await claimNextJob(database.db, {
        workerId: "w1",
        at: new Date(),
        leaseSeconds: 60,
        installationLimit: 10,
      });
      if (job) await services.onJobChanged(job);
      return job;
    },
  };
  const settled = async () => {
    await after.idle();
    const row = await getStatusComment(database.db, REPO.id, 1);
    return row !== undefined && !isBehind(row) && row.lockedBy === null;
  };

  it("a label removed a quarter second later, while the job is being claimed: the comment says cancelled", async () => {
    await post(labeled({ label: "agent:implement" }));
    await waitUntil(
      async () =>
        (await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 }))[0]?.status === "queued",
      "the job to be queued",
      5_000,
    );
    const claiming = worker.claim();
    await new Promise((resolve) => setTimeout(resolve, 250));
    await post(unlabeled({ label: "agent:implement" }));
    await claiming;
    await waitUntil(settled, "the comment's writers to finish", 10_000);
    const [job] = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 });
    expect(job).toMatchObject({ status: "cancelled" });
    const comments = github.statusComments(1);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("### 🚫 `implement` — cancelled");
  }, 30_000);

  it("20 deliveries of the same label at once, the one job runs and completes: the comment leads with it", async () => {
    await Promise.all(Array.from({ length: 20 }, () => post(labeled({ label: "agent:implement" }))));
    await waitUntil(
      async () =>
        (await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).some(
          (j) => j.status === "queued",
        ),
      "the job to be queued",
      5_000,
    );
    const job = await worker.claim();
    expect(job).not.toBeNull();
    await finish(worker.deps(), job as NonNullable<typeof job>, log, {
      to: "completed",
      patch: { resultSummary: "done" },
    });
    await waitUntil(settled, "the comment's writers to finish", 15_000);
    const all = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 });
    expect(all.filter((j) => j.status === "completed")).toHaveLength(1);
    expect(all.filter((j) => j.failureCode === "DUPLICATE")).toHaveLength(19);
    const comments = github.statusComments(1);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? "";
    expect(body).toContain("### ✅ `implement` — completed");
    expect(body).toContain(`| Job | #${job?.id} |`);
    expect(body).toContain(`19 duplicate triggers while job #${job?.id} was active were ignored.`);
    expect(body).not.toContain("still pending");
  }, 30_000);
});
