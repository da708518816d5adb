import nock from "nock";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { dispatchJob } from "../../src/github/dispatch-job.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { countJobEvents, getJob } from "../../src/jobs/find-jobs.js";
import { MAX_DISPATCH_TRIES } from "../../src/jobs/settle-policy.js";
import { REPO } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { api, makeProbot, TEST_JOB_TYPES } from "../support/github-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`a pending job is re-dispatched a bounded number of times (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 2) });
  afterEach(() => nock.cleanAll());

  it(`GitHub answering 502 to every try: pending, with each try on the timeline, then failed API_ERROR after ${MAX_DISPATCH_TRIES}`, async () => {
    const job = await makeJob(database.db, {
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
    });
    api()
      .persist()
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_x", expires_at: "2099-01-01T00:00:00Z" })
      .get(/labelrun\.yml/)
      .reply(502, { message: "Bad Gateway" });
    const probot = makeProbot();
    const clock = new ManualClock(T0);
    const deps = {
      db: database.db,
      github: octokitPort((id) => probot.auth(id) as never),
      jobTypes: TEST_JOB_TYPES,
      clock,
      log: pino({ level: "silent" }),
    };
    for (let tries = 1; tries < MAX_DISPATCH_TRIES; tries++) {
      clock.advance(15_000);
      expect(await dispatchJob(deps, job.id)).toBe("skipped");
      expect(await getJob(database.db, job.id)).toMatchObject({ status: "pending" });
      expect(await countJobEvents(database.db, job.id, "DISPATCH_FAILED")).toBe(tries);
    }
    clock.advance(15_000);
    expect(await dispatchJob(deps, job.id)).toBe("failed");
    expect(await getJob(database.db, job.id)).toMatchObject({
      status: "failed",
      failureCode: "API_ERROR",
      failureMessage: expect.stringMatching(
        /^could not be dispatched after 10 tries; the last one: GitHub answered 502/,
      ),
    });
    // Ended: nothing more is tried.
    expect(await dispatchJob(deps, job.id)).toBe("skipped");
  });
});
