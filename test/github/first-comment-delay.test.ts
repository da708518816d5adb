import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildJobServices } from "../../src/github/job-services.js";
import type { GitHubPort } from "../../src/github/port.js";
import { getStatusComment, isBehind } from "../../src/github/status-comment/status-comment-store.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { TEST_JOB_TYPES } from "../support/github-harness.js";

const driver = testDrivers[0] ?? "pglite";
const DELAY_MS = 5_000;

describe(`a target's first status comment waits while its job is active (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  /**
   * Job services whose GitHub records every comment write; the clock stands at T0 + 1 s. The
   * timers' looks go through `comments`, whose `idle()` says when they are done.
   */
  function servicesWithWrites(firstCommentDelayMs = DELAY_MS) {
    const clock = new ManualClock(new Date(T0.getTime() + 1_000));
    const log = pino({ level: "silent" });
    const comments = new AfterResponseTasks(log);
    const writes: Array<{ kind: "create" | "update"; body: string }> = [];
    const github = {
      createComment: async (_ref: unknown, body: string) => {
        writes.push({ kind: "create", body });
        return { id: 42 };
      },
      updateComment: async (_ref: unknown, _id: number, body: string) => {
        writes.push({ kind: "update", body });
      },
    } as unknown as GitHubPort;
    const services = buildJobServices({
      db: database.db,
      github,
      jobTypes: TEST_JOB_TYPES,
      clock,
      log,
      writerId: "test",
      firstCommentDelayMs,
      commentQueue: comments,
    });
    return { clock, writes, services, comments };
  }

  const move = (
    jobId: number,
    from: "pending" | "queued" | "running",
    to: "queued" | "running" | "completed",
    at: Date,
  ) => transitionJob(database.db, { jobId, from, to, at, actor: "test" });

  it("a job that ends within the delay is told in one write, its outcome; the timer then finds nothing to write", async () => {
    const { clock, writes, services, comments } = servicesWithWrites();
    const job = await makeJob(database.db, { installationId: 1, targetNumber: 7 });
    await move(job.id, "pending", "queued", clock.now());
    expect(await services.syncComment(job)).toBe("not_due");
    expect(writes).toEqual([]);
    clock.advance(1_000);
    await move(job.id, "queued", "running", clock.now());
    expect(await services.syncComment(job)).toBe("not_due");
    clock.advance(1_000);
    await move(job.id, "running", "completed", clock.now());
    expect(await services.syncComment(job)).toBe("written");
    expect(writes.map((w) => w.kind)).toEqual(["create"]);
    expect(writes[0]?.body).toContain("completed");
    // The timers set by the early calls fire: the comment is up to date, nothing more is written.
    clock.advance(DELAY_MS);
    await comments.idle();
    expect(writes).toHaveLength(1);
    const row = await getStatusComment(database.db, job.repositoryId, job.targetNumber);
    expect(row && isBehind(row)).toBe(false);
  });

  it("a job still active when the delay is over gets its first comment then, from the timer, showing it running", async () => {
    const { clock, writes, services, comments } = servicesWithWrites();
    const job = await makeJob(database.db, { installationId: 1, targetNumber: 8 });
    await move(job.id, "pending", "queued", clock.now());
    await move(job.id, "queued", "running", clock.now());
    expect(await services.syncComment(job)).toBe("not_due");
    expect(writes).toEqual([]);
    clock.advance(DELAY_MS);
    await comments.idle();
    expect(writes.map((w) => w.kind)).toEqual(["create"]);
    expect(writes[0]?.body).toMatch(/running/i);
    const row = await getStatusComment(database.db, job.repositoryId, job.targetNumber);
    expect(row && isBehind(row)).toBe(false);
    // The comment exists now: later changes are written at once.
    clock.advance(1_000);
    await move(job.id, "running", "completed", clock.now());
    expect(await services.syncComment(job)).toBe("written");
    expect(writes.map((w) => w.kind)).toEqual(["create", "update"]);
  });

  it("with no delay, the first comment is written at once, however active the job", async () => {
    const { writes, services, clock } = servicesWithWrites(0);
    const job = await makeJob(database.db, { installationId: 1, targetNumber: 9 });
    await move(job.id, "pending", "queued", clock.now());
    expect(await services.syncComment(job)).toBe("written");
    expect(writes.map((w) => w.kind)).toEqual(["create"]);
  });
});
