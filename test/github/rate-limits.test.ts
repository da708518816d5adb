import nock from "nock";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { makeProbot } from "../../src/bin/make-probot.js";
import { systemClock } from "../../src/clock.js";
import { buildJobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { runJob } from "../../src/worker/run-job.js";
import { REPO } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { TEST_JOB_TYPES, TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { makeSweepDeps } from "../support/sweep-harness.js";
import { agentJobTypes, makeRunJobDeps, queueAndClaim } from "../support/worker-harness.js";

const driver = testDrivers[0] ?? "pglite";
const API = "https://api.github.com";

/** GitHub's two rate limits, as its answers carry them. */
const LIMITS = [
  [
    "the primary rate limit (403, x-ratelimit-remaining: 0, reset in an hour)",
    (now: number) => ({
      status: 403,
      body: { message: "API rate limit exceeded for installation ID 2." },
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(now / 1000) + 3600) },
      resetAt: Math.floor(now / 1000) * 1000 + 3_600_000,
    }),
  ],
  [
    "a secondary rate limit (403, retry-after: 120)",
    (now: number) => ({
      status: 403,
      body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
      headers: { "retry-after": "120" },
      resetAt: now + 120_000,
    }),
  ],
] as const;

/** Probot exactly as production builds it (src/bin/make-probot.ts): throttling and retries as shipped. */
const productionProbot = () =>
  makeProbot({ appId: "1", privateKey: TEST_PRIVATE_KEY, webhookSecret: "s", baseUrl: API }, pino({ level: "silent" }));

describe(`a GitHub rate limit is never waited out in-process (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 2) });
  afterEach(() => nock.cleanAll());

  it.each(
    LIMITS,
  )("during dispatch, from a maintenance tick: %s defers the job until the reset at once", async (_name, limit) => {
    const job = await makeJob(database.db, {
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      at: new Date(Date.now() - 60_000),
    });
    const answer = limit(Date.now());
    nock(API)
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_x", expires_at: "2099-01-01T00:00:00Z" })
      .get(/labelrun\.yml/)
      .reply(answer.status, answer.body, answer.headers)
      // The comment says it is deferred (no other request is waited for).
      .post(/\/issues\/\d+\/comments$/)
      .reply(201, { id: 1 });
    const probot = productionProbot();
    const services = buildJobServices({
      db: database.db,
      github: octokitPort((id) => probot.auth(id) as never),
      jobTypes: TEST_JOB_TYPES,
      clock: systemClock,
      log: pino({ level: "silent" }),
      writerId: "t",
    });
    const { deps } = makeSweepDeps(database.db, { clock: systemClock, dispatch: services.dispatch });
    const started = Date.now();
    const [report] = await runSweeps(deps, ["stale_pending"]);
    // Waiting it out would take Probot's retry-after (27 s to an hour); a deferral takes a round trip.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report).toMatchObject({ name: "stale_pending", moved: 1 });
    const deferred = await getJob(database.db, job.id);
    expect(deferred).toMatchObject({ status: "deferred", failureCode: "RATE_LIMITED" });
    expect(Math.abs((deferred?.runAfter?.getTime() ?? 0) - answer.resetAt)).toBeLessThan(2_000);
  });

  it.each(
    LIMITS,
  )("during a run, before the agent starts: %s hands the job back until the reset, slot freed, attempt kept", async (_name, limit) => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: API,
      cloneBaseUrl: "http://127.0.0.1:9",
      jobTypes: agentJobTypes(["exit", "0"]),
    });
    const probot = productionProbot();
    deps.github = octokitPort((id) => (id === undefined ? probot.auth() : probot.auth(id)) as never);
    const claimed = await queueAndClaim(database.db, deps);
    const answer = limit(Date.now());
    nock(API).post("/app/installations/2/access_tokens").reply(answer.status, answer.body, answer.headers);
    const started = Date.now();
    const final = await runJob(deps, claimed, {
      shutdown: new AbortController().signal,
      cancelled: new AbortController().signal,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(final).toMatchObject({
      status: "deferred",
      failureCode: "RATE_LIMITED",
      attempt: 0,
      workerId: "test-worker",
    });
    expect(Math.abs((final?.runAfter?.getTime() ?? 0) - answer.resetAt)).toBeLessThan(2_000);
  });
});
