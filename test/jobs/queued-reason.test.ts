import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parseJobTypes } from "../../src/config/job-types.js";
import { queryRows } from "../../src/db/client.js";
import { renderStatusComment } from "../../src/github/status-comment/render-status-comment.js";
import { markQueuedBehind } from "../../src/jobs/mark-queued-behind.js";
import { queuedReasons } from "../../src/jobs/queued-reason.js";
import { announceWorker } from "../../src/worker/presence-store.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
  review:
    command: [node, r.mjs]
    label: "agent:review"
    concurrency: 1
`);
const limits = { installationLimit: 2, jobTypes: JOB_TYPES };

describe.each(testDrivers)("why a queued job waits (%s)", (driver) => {
  const database = useTestDatabase(driver);
  const worker = (runs: string[], refuses: Record<string, string> = {}) =>
    announceWorker(database.db, { workerId: `w-${runs.join("-")}`, host: "h", runs, refuses, at: T0 });

  it("says whichever is true: no worker, none able, the installation's limit, the job type's limit, or a free slot", async () => {
    await seedInstallation(database.db, 1);
    const queued = await makeJob(database.db, { targetNumber: 1, status: "queued" });
    const review = await makeJob(database.db, { targetNumber: 2, jobType: "review", status: "queued" });
    const reasons = () => queuedReasons(database.db, [queued, review], limits, T0);

    expect((await reasons()).get(queued.id)).toBe("for a worker: no worker is online");
    await worker(["review"], { implement: "bubblewrap is not installed" });
    expect((await reasons()).get(queued.id)).toBe(
      "for a worker: no online worker can run `implement` jobs: bubblewrap is not installed",
    );
    await worker(["implement", "review"]);
    expect((await reasons()).get(queued.id)).toBe("for a free worker slot");

    const busyReview = await makeJob(database.db, { targetNumber: 3, jobType: "review", status: "running" });
    expect((await reasons()).get(review.id)).toBe(
      `the job type's limit is reached (1 of 1 \`review\` running: #${busyReview.id})`,
    );
    const busy = await makeJob(database.db, { targetNumber: 4, status: "running" });
    expect((await reasons()).get(queued.id)).toBe(
      `the installation's limit is reached (2 of 2 running: #${busyReview.id}, #${busy.id})`,
    );
    // Another installation's running jobs do not count.
    await seedInstallation(database.db, 2);
    await makeJob(database.db, { installationId: 2, targetNumber: 5, status: "running" });
    expect((await reasons()).get(queued.id)).toContain("(2 of 2 running:");

    // The comment says the same.
    const waiting = await reasons();
    expect(renderStatusComment({ jobs: [queued], waiting })).toContain(
      `| Waiting | the installation's limit is reached (2 of 2 running: #${busyReview.id}, #${busy.id}) |`,
    );
  });

  it("when a job of the installation ends, the comments of its queued jobs are marked behind, to read their reason again", async () => {
    await seedInstallation(database.db, 1);
    const queued = await makeJob(database.db, { targetNumber: 1, status: "queued" });
    await database.db.execute(sql`update status_comments set synced_version = version, dirty_since = null`);
    expect(await markQueuedBehind(database.db, 1, T0)).toBe(1);
    const [row] = await queryRows<{ behind: boolean }>(
      database.db,
      sql`select version > synced_version as behind from status_comments where target_number = ${queued.targetNumber}`,
    );
    expect(row?.behind).toBe(true);
  });
});
