import { eq, inArray } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { getInstallation } from "../../src/db/installations.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { installations, jobs, statusComments } from "../../src/db/schema.js";
import { announceWaiting, noticeOf } from "../../src/jobs/announce-changes.js";
import { createJob } from "../../src/jobs/create-job.js";
import { listJobEvents } from "../../src/jobs/find-jobs.js";
import { JOB_CHANNEL } from "../../src/jobs/notify.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { postgresAvailable, testDrivers, useTestDatabase } from "../support/databases.js";
import { makeNewJob, seedInstallation, T0 } from "../support/factories.js";

const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const newcomer = (id: number, login = `newcomer-${id}`) => ({ id, accountLogin: login, accountType: "Organization" });

describe.each(testDrivers)("jobs created in the same turn, on %s", (driver) => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  it("each gets its own row, event (time, actor, code, data) and comment mark; a new installation is recorded once", async () => {
    const { db } = database;
    const ended = await createJob(db, { job: makeNewJob({ targetNumber: 3 }), at: T0, actor: "test" });
    await transitionJob(db, { jobId: ended.job.id, from: "pending", to: "cancelled", at: T0, actor: "test" });

    const results = await Promise.all([
      createJob(db, { job: makeNewJob({ targetNumber: 1, triggeredBy: "alice" }), at: at(1), actor: "github:alice" }),
      createJob(db, { job: makeNewJob({ targetNumber: 2, triggerLabel: null }), at: at(2), actor: "cli:admin" }),
      createJob(db, { job: makeNewJob({ targetNumber: 3 }), at: at(3), actor: "github:carol" }),
      createJob(db, {
        job: makeNewJob({ installationId: 9, repositoryId: 900, targetNumber: 1, jobType: "review" }),
        at: at(4),
        actor: "github:dave",
        installation: newcomer(9),
      }),
      createJob(db, {
        job: makeNewJob({ installationId: 9, repositoryId: 900, targetNumber: 2 }),
        at: at(5),
        actor: "github:erin",
        installation: newcomer(9, "renamed"),
      }),
    ]);

    expect(results.map((r) => r.outcome)).toEqual(["created", "created", "created", "created", "created"]);
    expect(results.map((r) => [r.job.repositoryId, r.job.targetNumber, r.job.jobType, r.job.createdAt])).toEqual([
      [100, 1, "implement", at(1)],
      [100, 2, "implement", at(2)],
      [100, 3, "implement", at(3)],
      [900, 1, "review", at(4)],
      [900, 2, "implement", at(5)],
    ]);
    expect(results[0]?.job).toMatchObject({ status: "pending", triggeredBy: "alice", retryOf: null, retryNumber: 0 });
    expect(results[2]?.job).toMatchObject({ retryOf: ended.job.id, retryNumber: 1 });

    const events = await Promise.all(results.map((r) => listJobEvents(db, r.job.id)));
    expect(events.map((list) => list.map((e) => [e.fromStatus, e.toStatus, e.at, e.actor, e.code, e.data]))).toEqual([
      [[null, "pending", at(1), "github:alice", "CREATED", { label: "agent:implement" }]],
      [[null, "pending", at(2), "cli:admin", "CREATED", null]],
      [[null, "pending", at(3), "github:carol", "RETRY", { label: "agent:implement" }]],
      [[null, "pending", at(4), "github:dave", "CREATED", { label: "agent:implement" }]],
      [[null, "pending", at(5), "github:erin", "CREATED", { label: "agent:implement" }]],
    ]);
    expect(events[2]?.[0]?.message).toBe(`retry of job ${ended.job.id}`);

    const marks = await db
      .select({
        repository: statusComments.repositoryId,
        target: statusComments.targetNumber,
        v: statusComments.version,
      })
      .from(statusComments)
      .orderBy(statusComments.repositoryId, statusComments.targetNumber);
    // Target 3: its first job's creation and cancellation, then the retry.
    expect(marks.map((m) => [m.repository, m.target, m.v])).toEqual([
      [100, 1, 1],
      [100, 2, 1],
      [100, 3, 3],
      [900, 1, 1],
      [900, 2, 1],
    ]);
    // The first of the turn's rows for the installation, as one statement of its own would have.
    expect(await getInstallation(db, 9)).toMatchObject({ accountLogin: "newcomer-9", createdAt: at(4) });
  });

  it("two triggers for one target and job type in one turn: one job, one cancelled duplicate of it", async () => {
    const { db } = database;
    const results = await Promise.all(
      ["d-1", "d-2", "d-3"].map((deliveryId, i) =>
        createJob(db, { job: makeNewJob({ targetNumber: 5, deliveryId }), at: at(i), actor: "test" }),
      ),
    );
    const created = results.filter((r) => r.outcome === "created");
    expect(created).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "duplicate").map((r) => r.job.duplicateOf)).toEqual([
      created[0]?.job.id,
      created[0]?.job.id,
    ]);
  });

  it("a delivery seen before, sent again beside new jobs, is answered with its job; the new ones are created", async () => {
    const { db } = database;
    const first = await createJob(db, { job: makeNewJob({ targetNumber: 6, deliveryId: "seen" }), at: T0, actor: "t" });
    await transitionJob(db, { jobId: first.job.id, from: "pending", to: "cancelled", at: T0, actor: "test" });
    const results = await Promise.all([
      createJob(db, { job: makeNewJob({ targetNumber: 6, deliveryId: "seen" }), at: at(1), actor: "t" }),
      createJob(db, { job: makeNewJob({ targetNumber: 7, deliveryId: "new" }), at: at(1), actor: "t" }),
    ]);
    expect(results.map((r) => r.outcome)).toEqual(["already_recorded", "created"]);
    expect(results[0]?.job.id).toBe(first.job.id);
    expect(await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.targetNumber, 6))).toHaveLength(1);
  });

  it("when the statement fails, each job is tried on its own: only the bad one fails", async () => {
    const { db } = database;
    // Installation 404 was never recorded and the request does not bring it: its row breaks the foreign key.
    const results = await Promise.allSettled([
      createJob(db, { job: makeNewJob({ targetNumber: 11 }), at: T0, actor: "test" }),
      createJob(db, { job: makeNewJob({ installationId: 404, targetNumber: 12 }), at: T0, actor: "test" }),
      createJob(db, { job: makeNewJob({ targetNumber: 13 }), at: T0, actor: "test" }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const rows = await db
      .select({ target: jobs.targetNumber })
      .from(jobs)
      .where(inArray(jobs.targetNumber, [11, 12, 13]))
      .orderBy(jobs.targetNumber);
    expect(rows.map((r) => r.target)).toEqual([11, 13]);
    for (const target of [11, 13]) {
      const [job] = await db.select().from(jobs).where(eq(jobs.targetNumber, target));
      expect(await listJobEvents(db, job?.id ?? 0)).toHaveLength(1);
    }
  });
});

describe.runIf(postgresAvailable)("jobs created together on the real server", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db, 1) });
  const inserts = (statements: string[]) => statements.filter((q) => /insert\s+into\s+"?jobs"?\s/i.test(q));

  it("the jobs of one turn go in one statement", async () => {
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 4, onQuery: (query) => statements.push(query) });
    try {
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((n) =>
          createJob(counted.db, { job: makeNewJob({ targetNumber: 100 + n }), at: T0, actor: "test" }),
        ),
      );
      expect(results.every((r) => r.outcome === "created")).toBe(true);
      expect(inserts(statements)).toHaveLength(1);
    } finally {
      await counted.close();
    }
  });

  it("a new job is answered once its statement committed, not after its notice: the NOTIFY follows", async () => {
    const statements: string[] = [];
    const counted = openPostgres({ url: database.url as string, max: 4, onQuery: (query) => statements.push(query) });
    const notices: string[] = [];
    const unlisten = await database.listen(JOB_CHANNEL, (payload) => notices.push(payload));
    try {
      const created = await createJob(counted.db, { job: makeNewJob({ targetNumber: 200 }), at: T0, actor: "test" });
      expect(created.outcome).toBe("created");
      // A webhook's answer waits for its job's row, not for a hint to the boards (a round trip more).
      expect(statements).toHaveLength(1);
      await announceWaiting(counted.db);
      expect(statements.filter((q) => q.includes("pg_notify"))).toHaveLength(1);
      await vi.waitFor(() => expect(notices.map((n) => JSON.parse(n))).toContainEqual(noticeOf(created.job)));
    } finally {
      await unlisten();
      await counted.close();
    }
  });

  it("two processes creating jobs of new installations in opposite orders at once never deadlock", async () => {
    const ids = [21, 22, 23, 24, 25];
    const statements: string[] = [];
    const handles = [0, 1].map(() =>
      openPostgres({ url: database.url as string, max: 2, onQuery: (query) => statements.push(query) }),
    );
    try {
      for (let round = 0; round < 10; round++) {
        const batches = handles.map((handle, h) =>
          (h === 0 ? ids : [...ids].reverse()).map((id) =>
            createJob(handle.db, {
              job: makeNewJob({ installationId: id * 100 + round, repositoryId: id, targetNumber: round * 10 + h }),
              at: T0,
              actor: "test",
              installation: newcomer(id * 100 + round),
            }),
          ),
        );
        const results = await Promise.all(batches.flat());
        expect(results.every((r) => r.outcome === "created")).toBe(true);
      }
      // One statement per process per round: none fell back to a statement per job.
      expect(inserts(statements)).toHaveLength(20);
      const recorded = await database.db.select({ id: installations.id }).from(installations);
      expect(recorded).toHaveLength(1 + 50);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
  });
});
