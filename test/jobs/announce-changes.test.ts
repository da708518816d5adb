import { afterEach, describe, expect, it } from "vitest";
import { openPostgres } from "../../src/db/open-postgres.js";
import { announceChanges, announceSoon, noticePacing } from "../../src/jobs/announce-changes.js";
import { JOB_CHANNEL, type JobNotice, parseJobNotice } from "../../src/jobs/notify.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

/** Resolves with the first notice a listener gets that matches. */
function noticeFor(notices: JobNotice[], listeners: Array<() => void>, match: (n: JobNotice) => boolean) {
  return new Promise<JobNotice>((resolve) => {
    const look = () => {
      const found = notices.find(match);
      if (found) resolve(found);
      else listeners.push(look);
    };
    look();
  });
}

describe.runIf(postgresAvailable)("announcing job changes on the real server", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db) });

  async function listening() {
    const notices: JobNotice[] = [];
    const listeners: Array<() => void> = [];
    const unlisten = await database.listen(JOB_CHANNEL, (payload) => {
      const notice = parseJobNotice(payload);
      if (notice) notices.push(notice);
      for (const listener of listeners.splice(0)) listener();
    });
    return { notices, listeners, unlisten };
  }

  it("a change's notice arrives after its commit: the listener reads the new state", async () => {
    const job = await makeJob(database.db, { status: "queued" });
    const { notices, listeners, unlisten } = await listening();
    const read = noticeFor(notices, listeners, (n) => n.id === job.id).then(async () => {
      const [row] = await database.db.query.jobs.findMany({ where: (jobs, { eq }) => eq(jobs.id, job.id) });
      return row?.status;
    });
    await transitionJob(database.db, { jobId: job.id, from: "queued", to: "cancelled", at: T0, actor: "test" });
    expect(await read).toBe("cancelled");
    await unlisten();
  });

  it("inside a caller's transaction the notice waits for that transaction's commit", async () => {
    const job = await makeJob(database.db, { status: "queued" });
    const { notices, listeners, unlisten } = await listening();
    await database.db.transaction(async (tx) => {
      await transitionJob(tx, { jobId: job.id, from: "queued", to: "cancelled", at: T0, actor: "test" });
      // A notice sent and committed by another session now arrives first: notices come in commit order.
      await announceChanges(database.db, [{ id: -1, status: "queued", installationId: 1 }]);
      await noticeFor(notices, listeners, (n) => n.id === -1);
      expect(notices.map((n) => n.id)).toEqual([-1]);
    });
    expect(await noticeFor(notices, listeners, (n) => n.id === job.id)).toMatchObject({ status: "cancelled" });
    await unlisten();
  });

  it("the notices announced in the same turn of the event loop go out in one statement, each delivered", async () => {
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 5, onQuery: (query) => statements.push(query) });
    try {
      const { notices, listeners, unlisten } = await listening();
      const ids = [101, 102, 103, 104, 105];
      await Promise.all(ids.map((id) => announceChanges(counted.db, [{ id, status: "completed", installationId: 1 }])));
      for (const id of ids) await noticeFor(notices, listeners, (n) => n.id === id);
      expect(statements.filter((query) => query.includes("pg_notify"))).toHaveLength(1);
      await unlisten();
    } finally {
      await counted.close();
    }
  });

  describe("notices no one waits on", () => {
    const unhurriedMs = noticePacing.unhurriedMs;
    afterEach(() => {
      noticePacing.unhurriedMs = unhurriedMs;
    });
    const turn = () => new Promise((resolve) => setImmediate(resolve));

    it("wait to share one statement with later turns' notices, and a queued notice sends them all at once", async () => {
      noticePacing.unhurriedMs = 60_000; // only the queued notice can send them within the test's time
      const statements: string[] = [];
      const counted = openPostgres({ url: database.url as string, max: 5, onQuery: (query) => statements.push(query) });
      try {
        const { notices, listeners, unlisten } = await listening();
        await announceSoon(counted.db, [{ id: 201, status: "completed", installationId: 1 }]);
        await turn();
        await announceSoon(counted.db, [{ id: 202, status: "running", installationId: 1 }]);
        await turn();
        await announceSoon(counted.db, [{ id: 203, status: "queued", installationId: 1 }]);
        await noticeFor(notices, listeners, (n) => n.id === 203);
        expect(notices.map((n) => n.id)).toEqual([201, 202, 203]);
        expect(statements.filter((query) => query.includes("pg_notify"))).toHaveLength(1);
        await unlisten();
      } finally {
        await counted.close();
      }
    });

    it("go out when their wait is over", async () => {
      const { notices, listeners, unlisten } = await listening();
      await announceSoon(database.db, [{ id: 301, status: "failed", installationId: 1 }]);
      expect(await noticeFor(notices, listeners, (n) => n.id === 301)).toMatchObject({ status: "failed" });
      await unlisten();
    });

    it("go out before the database handle closes", async () => {
      noticePacing.unhurriedMs = 60_000;
      const closing = openPostgres({ url: database.url as string, max: 2 });
      const { notices, listeners, unlisten } = await listening();
      await announceSoon(closing.db, [{ id: 401, status: "cancelled", installationId: 1 }]);
      await closing.close();
      expect(await noticeFor(notices, listeners, (n) => n.id === 401)).toMatchObject({ status: "cancelled" });
      await unlisten();
    });
  });
});
