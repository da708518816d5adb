import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { GitHubPort } from "../../src/github/port.js";
import { getStatusComment, isBehind } from "../../src/github/status-comment/status-comment-store.js";
import { syncStatusComment } from "../../src/github/status-comment/sync-status-comment.js";
import { amendJob } from "../../src/jobs/amend-job.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

const driver = testDrivers[0] ?? "pglite";

describe(`one status comment writer (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  it("a change that lands during every write keeps the comment behind, and the writer lets go after a bounded number of writes", async () => {
    const clock = new ManualClock(T0);
    const job = await makeJob(database.db, { installationId: 1, status: "running" });
    let writes = 0;
    const change = async () => {
      clock.advance(1_000);
      await amendJob(database.db, {
        jobId: job.id,
        set: { progress: writes % 100 },
        at: clock.now(),
        actor: "test",
        code: "PROGRESS",
      });
    };
    const github = {
      createComment: async () => {
        writes++;
        await change();
        return { id: 42 };
      },
      updateComment: async () => {
        writes++;
        await change();
      },
    } as unknown as GitHubPort;
    const deps = { db: database.db, github, clock, log: pino({ level: "silent" }), writerId: "t" };
    expect(await syncStatusComment(deps, job)).toBe("written");
    // Every write saw a newer change: the writer went round, then stopped instead of writing forever.
    expect(writes).toBeGreaterThan(1);
    expect(writes).toBeLessThanOrEqual(40);
    const row = await getStatusComment(database.db, job.repositoryId, job.targetNumber);
    expect(row && isBehind(row)).toBe(true);
    expect(row?.lockedBy).toBeNull();
    // Once the changes stop, one more call catches up.
    github.updateComment = async () => {
      writes++;
    };
    expect(await syncStatusComment(deps, job)).toBe("written");
    const caughtUp = await getStatusComment(database.db, job.repositoryId, job.targetNumber);
    expect(caughtUp && isBehind(caughtUp)).toBe(false);
  });
});
