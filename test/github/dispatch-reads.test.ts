import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { validateRepoConfig } from "../../src/config/repo-config.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { installations, repositoryConfigs } from "../../src/db/schema.js";
import { dispatchJob } from "../../src/github/dispatch-job.js";
import { buildJobServices } from "../../src/github/job-services.js";
import type { GitHubPort } from "../../src/github/port.js";
import { announceWaiting } from "../../src/jobs/announce-changes.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { TEST_JOB_TYPES } from "../support/github-harness.js";

/** A GitHub that must not be asked: the stored config is fresh and the webhook showed the issue open. */
const noGitHub = new Proxy({} as GitHubPort, {
  get: (_target, method) => () => Promise.reject(new Error(`GitHub asked: ${String(method)}`)),
});

describe.runIf(postgresAvailable)("dispatch's reads", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db, 1) });

  async function storeConfig(raw: unknown, fetchedAt = T0) {
    const result = validateRepoConfig(raw, TEST_JOB_TYPES);
    await database.db.insert(repositoryConfigs).values({
      repositoryId: 100,
      repositoryFullName: "octo-org/widgets",
      triggers: result.ok ? result.config.triggers : {},
      problems: result.ok ? null : result.problems,
      config: result.ok ? result.config : null,
      fetchedAt,
    });
  }

  /** Job services on a connection that records every statement; follow-ups wait in `followUps`. */
  function countedServices(options: { firstCommentDelayMs?: number } = {}) {
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 2, onQuery: (query) => statements.push(query) });
    const followUps: Array<() => Promise<unknown>> = [];
    const clock = new ManualClock(new Date(T0.getTime() + 1_000));
    const services = buildJobServices({
      db: counted.db,
      github: noGitHub,
      jobTypes: TEST_JOB_TYPES,
      clock,
      log: pino({ level: "silent" }),
      writerId: "test",
      commentQueue: { run: (_name, task) => followUps.push(task) },
      ...options,
    });
    return { counted, services, statements, followUps, clock };
  }

  it("the job, its installation and the stored config are one statement, and the follow-up reads nothing again", async () => {
    await storeConfig({});
    const job = await makeJob(database.db, { targetNumber: 5, targetOpenAt: T0 });
    const { counted, services, statements, followUps } = countedServices();
    try {
      expect(await services.dispatch(job.id)).toBe("queued");
      // One read, the move; the move announces the queued job itself (no NOTIFY statement after it).
      await announceWaiting(counted.db);
      expect(statements).toHaveLength(2);
      expect(statements[1]).toContain("pg_notify");
      expect(followUps).toHaveLength(1);
    } finally {
      await counted.close();
    }
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "queued" });
  });

  it("the follow-up of a queued job whose first comment is not due yet is one read: no reaction looked for, no lease", async () => {
    await storeConfig({});
    const job = await makeJob(database.db, { targetNumber: 7, targetOpenAt: T0 });
    const { counted, services, statements, followUps, clock } = countedServices({ firstCommentDelayMs: 5_000 });
    try {
      expect(await services.dispatch(job.id)).toBe("queued");
      await announceWaiting(counted.db);
      statements.length = 0;
      expect(followUps).toHaveLength(1);
      await followUps[0]?.();
      // The comment's row (none written, its delay not over) and the queued job the move returned say it all.
      expect(statements).toHaveLength(1);
      expect(statements[0]).toContain("status_comments");
      // Once the delay is over the timer's look writes it (here: GitHub refuses, the mark stays for the sweep).
      clock.advance(5_000);
      expect(followUps).toHaveLength(2);
    } finally {
      await counted.close();
    }
  });

  it("decides on what it read: a suspended installation is skipped, an invalid stored config fails the job", async () => {
    const deps = {
      db: database.db,
      github: noGitHub,
      jobTypes: TEST_JOB_TYPES,
      clock: new ManualClock(new Date(T0.getTime() + 1_000)),
      log: pino({ level: "silent" }),
    };
    await storeConfig({ enabled: "maybe" });
    const job = await makeJob(database.db, { targetNumber: 6, targetOpenAt: T0 });
    await database.db.update(installations).set({ suspendedAt: T0 });
    expect(await dispatchJob(deps, job.id)).toBe("skipped");
    await database.db.update(installations).set({ suspendedAt: null });
    expect(await dispatchJob(deps, job.id)).toBe("failed");
    expect(await getJob(database.db, job.id)).toMatchObject({ failureCode: "VALIDATION_ERROR" });
    expect(await dispatchJob(deps, 999_999)).toBe("skipped");
  });
});
