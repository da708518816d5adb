import { and, eq, sql } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { queryRows } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { type JobRow, jobEvents } from "../../src/db/schema.js";
import { claimJobs } from "../../src/jobs/claim-next-job.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { JOB_CHANNEL, parseJobNotice } from "../../src/jobs/notify.js";
import { isTerminal } from "../../src/jobs/states.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { finish } from "../../src/worker/finish-run.js";
import { Worker } from "../../src/worker/worker.js";
import { mockAgentGitHub } from "../support/agent-github.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { pidsWith, uniqueMarker, waitUntil } from "../support/processes.js";
import { agentJobTypes, makeRunJobDeps } from "../support/worker-harness.js";

describe.runIf(postgresAvailable)("a worker's claims", () => {
  const database = useTestDatabase("postgres", { seed: (db) => seedInstallation(db, 2) });
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeEach(() => mockAgentGitHub());
  afterEach(() => {
    nock.cleanAll();
  });

  /** A worker of `slots` on its own pool, whose statements are recorded, running agents that hang. */
  function countedWorker(slots: number, pollIntervalMs: number) {
    const marker = uniqueMarker();
    const statements: string[] = [];
    const handle = openPostgres({ url: database.url as string, max: 4, onQuery: (query) => statements.push(query) });
    const { deps } = makeRunJobDeps({
      db: handle.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["hang", marker]),
      heartbeatMs: 60_000,
    });
    const worker = new Worker(
      { ...deps, handle },
      { slots, installationLimit: 5, pollIntervalMs, shutdownGraceMs: 100 },
    );
    const stop = async () => {
      await worker.stop();
      await handle.close();
    };
    return { marker, statements, worker, workerId: deps.settings.workerId, stop };
  }

  /** Three queued jobs of the cloneable repository (of `jobType`, or the factory's), queued in the order of their ids. */
  async function queueThreeJobs(jobType?: string): Promise<number[]> {
    const ids: number[] = [];
    for (let n = 1; n <= 3; n++) {
      const job = await makeJob(database.db, {
        status: "queued",
        installationId: 2,
        repositoryId: 186853002,
        repositoryFullName: "Codertocat/Hello-World",
        targetNumber: n,
        at: systemClock.now(),
        ...(jobType ? { jobType } : {}),
      });
      ids.push(job.id);
    }
    await database.db.execute(sql`update jobs set queued_at = created_at + (id || ' ms')::interval`);
    return ids;
  }

  /** One queued job of the cloneable repository (the first of queueThreeJobs; the others removed). */
  async function queueOneJob(): Promise<number> {
    const [first] = await queueThreeJobs();
    await database.db.execute(sql`delete from jobs where id <> ${first}`);
    return first as number;
  }

  /** Moves a pending job to queued, announcing it as the dispatcher does. */
  function queueNow(jobId: number) {
    return transitionJob(database.db, { jobId, from: "pending", to: "queued", at: systemClock.now(), actor: "test" });
  }

  /** Another job of the cloneable repository, pending unless `status` says otherwise. */
  function makeNextJob(status?: "queued") {
    return makeJob(database.db, {
      installationId: 2,
      repositoryId: 186853002,
      repositoryFullName: "Codertocat/Hello-World",
      targetNumber: 9,
      at: systemClock.now(),
      ...(status ? { status } : {}),
    });
  }

  /** The claim statements that went straight to an announced job by its id. */
  const claimsById = (statements: string[]) =>
    statements.filter((query) => /where j\.id = \$\d+ and j\.status = 'queued'/.test(query));

  it("a worker with 3 free slots claims 3 queued jobs of an installation in one statement", async () => {
    await queueThreeJobs();
    const { marker, statements, worker, workerId, stop } = countedWorker(3, 200);
    await worker.start();
    try {
      await waitUntil(() => pidsWith(marker).length >= 3, "three agents to start", 20_000);
      expect(worker.runningJobIds).toHaveLength(3);
      expect(statements.filter((query) => /^\s*with\s+front as/.test(query))).toHaveLength(1);
      const claims = await database.db
        .select({ at: jobEvents.at })
        .from(jobEvents)
        .where(and(eq(jobEvents.code, "CLAIMED"), eq(jobEvents.actor, `worker:${workerId}`)));
      expect(claims).toHaveLength(3);
      expect(new Set(claims.map((claim) => claim.at.getTime())).size).toBe(1);
    } finally {
      await stop();
    }
  }, 40_000);

  it("an idle worker goes straight to a job announced as queued, without looking along the queue", async () => {
    const { marker, statements, worker, stop } = countedWorker(2, 60_000);
    await worker.start();
    try {
      const job = await makeJob(database.db, {
        installationId: 2,
        repositoryId: 186853002,
        repositoryFullName: "Codertocat/Hello-World",
        targetNumber: 1,
        at: systemClock.now(),
      });
      await waitUntil(
        () => statements.some((query) => /with\s+front as/.test(query)),
        "the first look along the queue",
        5_000,
      );
      // The statement is sent before the connection is up: give the look time to come back empty.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const looks = () => statements.filter((query) => /with\s+front as/.test(query)).length;
      const looksBefore = looks();
      await transitionJob(database.db, {
        jobId: job.id,
        from: "pending",
        to: "queued",
        at: systemClock.now(),
        actor: "test",
      });
      await waitUntil(() => pidsWith(marker).length >= 1, "the agent to start", 20_000);
      expect(worker.runningJobIds).toEqual([job.id]);
      expect(claimsById(statements)).toHaveLength(1);
      // The claim that took it did not look along the queue (the one after it, for the free slot, does).
      expect(looks() - looksBefore).toBeLessThanOrEqual(1);
    } finally {
      await stop();
    }
  }, 40_000);

  it("a worker whose claim took the last due job waits for the next one to be queued instead of claiming again", async () => {
    const { marker, statements, worker, stop } = countedWorker(2, 60_000);
    const claims = () => statements.filter((query) => /\bcandidate as \(/.test(query)).length;
    const first = await queueOneJob();
    await worker.start();
    try {
      await waitUntil(() => pidsWith(marker).length >= 1, "the first agent to start", 20_000);
      // A slot is free, and nothing more is due: no claim follows the one that took the job.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(claims()).toBe(1);
      const next = await makeNextJob();
      await queueNow(next.id);
      await waitUntil(() => worker.runningJobIds.length >= 2, "the second job to run", 20_000);
      expect(worker.runningJobIds.sort((a, b) => a - b)).toEqual([first, next.id]);
      expect(claims()).toBe(2);
      // The queue held nothing else: it went straight to the announced job.
      expect(claimsById(statements)).toHaveLength(1);
    } finally {
      await stop();
    }
  }, 40_000);

  it("a drained worker still polls: a job queued without a notice is claimed at the poll", async () => {
    const { worker, stop } = countedWorker(2, 200);
    const first = await queueOneJob();
    await worker.start();
    try {
      await waitUntil(() => worker.runningJobIds.length === 1, "the first job to run", 20_000);
      // Queued behind the worker's back: no NOTIFY.
      const quiet = await makeNextJob("queued");
      await waitUntil(() => worker.runningJobIds.length === 2, "the poll to claim the second job", 20_000);
      expect(worker.runningJobIds.sort((a, b) => a - b)).toEqual([first, quiet.id]);
    } finally {
      await stop();
    }
  }, 40_000);

  it("a job queued while a claim is under way is claimed at once, though the claim saw nothing more due", async () => {
    const { statements, worker, stop } = countedWorker(2, 60_000);
    const first = await queueOneJob();
    const next = await makeNextJob();
    const heard: number[] = [];
    const unlisten = await database.listen(JOB_CHANNEL, (payload) => {
      const notice = parseJobNotice(payload);
      if (notice?.status === "queued") heard.push(notice.id);
    });
    try {
      // The claim waits on the installation's row, locked here, until the next job is queued and announced.
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`select id from installations where id = 2 for update`);
        await worker.start();
        await waitUntil(
          async () => {
            const rows = await queryRows(
              database.db,
              sql`select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
                  where not l.granted and a.datname = current_database()`,
            );
            return rows.length > 0 && statements.some((query) => /\bcandidate as \(/.test(query));
          },
          "the claim to wait on the installation's row",
          10_000,
        );
        await queueNow(next.id);
        await waitUntil(() => heard.includes(next.id), "the next job's notice", 10_000);
        await new Promise((resolve) => setTimeout(resolve, 100)); // the worker hears it too
      });
      await waitUntil(() => worker.runningJobIds.length >= 2, "both jobs to run", 20_000);
      expect(worker.runningJobIds.sort((a, b) => a - b)).toEqual([first, next.id]);
    } finally {
      await unlisten();
      await stop();
    }
  }, 40_000);

  it.each<[string, string | undefined]>([
    ["an agent's run", undefined],
    ["a run over before its first await (a job type the worker runs but has no config for)", "ghost"],
  ])(
    "after %s, a slot runs the next job while the last run's end is still told, and no more than twice `slots` runs are under way",
    async (_run, jobType) => {
      const ids = await queueThreeJobs(jobType);
      const handle = openPostgres({ url: database.url as string, max: 4 });
      const { deps } = makeRunJobDeps({
        db: handle.db,
        githubUrl: "https://api.github.com",
        cloneBaseUrl: repos.baseUrl,
        jobTypes: agentJobTypes(["exit", "0"]),
      });
      // Telling the status comment of an ended run hangs (GitHub paces comment writes) until released.
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const told: number[] = [];
      const onJobChanged = async (job: JobRow) => {
        if (job.status === "running") return;
        told.push(job.id);
        await released;
      };
      const worker = new Worker(
        { ...deps, onJobChanged, handle },
        {
          slots: 1,
          installationLimit: 5,
          pollIntervalMs: 100,
          shutdownGraceMs: 100,
          ...(jobType ? { runsJobTypes: [jobType] } : {}),
        },
      );
      const statusOf = async (id: number) => (await getJob(database.db, id))?.status;
      await worker.start();
      try {
        // The first run's comment is still being told: the one slot has taken the second job.
        await waitUntil(() => told.length === 2, "two runs ended, their comments waiting", 30_000);
        expect([...told].sort((a, b) => a - b)).toEqual([ids[0], ids[1]]);
        // Two runs waiting on GitHub for a worker of one slot: the third waits for one of them.
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(await statusOf(ids[2] as number)).toBe("queued");
        release();
        await waitUntil(
          async () => isTerminal((await statusOf(ids[2] as number)) ?? "queued"),
          "the third run",
          30_000,
        );
      } finally {
        release();
        await worker.stop();
        await handle.close();
      }
    },
    60_000,
  );

  it("runs that end in one turn end in one statement, without reading their jobs first", async () => {
    for (let n = 1; n <= 3; n++)
      await makeJob(database.db, { status: "queued", installationId: 2, targetNumber: n, at: systemClock.now() });
    await database.db.execute(sql`update jobs set queued_at = created_at`);
    const statements: string[] = [];
    const handle = openPostgres({ url: database.url as string, max: 4, onQuery: (query) => statements.push(query) });
    try {
      const { deps } = makeRunJobDeps({
        db: handle.db,
        githubUrl: "https://api.github.com",
        cloneBaseUrl: repos.baseUrl,
        jobTypes: agentJobTypes(["exit", "0"]),
      });
      const settings = deps.settings;
      const claimed = await claimJobs(
        handle.db,
        { workerId: settings.workerId, at: systemClock.now(), leaseSeconds: 60, installationLimit: 5 },
        3,
      );
      expect(claimed).toHaveLength(3);
      statements.length = 0;
      const ended = await Promise.all(
        claimed.map((job) =>
          finish({ ...deps, onJobChanged: async () => {} }, job, deps.log, { to: "completed", patch: {} }),
        ),
      );
      expect(ended.map((job) => job?.status)).toEqual(["completed", "completed", "completed"]);
      expect(statements.filter((query) => /update\s+"?jobs"?\s/i.test(query))).toHaveLength(1);
      expect(statements.filter((query) => /^\s*select\b.*\bfrom\s+"?jobs"?\s/is.test(query))).toEqual([]);
    } finally {
      await handle.close();
    }
  });
});
