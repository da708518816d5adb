import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { queuedReasons } from "../../src/jobs/queued-reason.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { openTestDatabase, postgresAvailable, type TestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { pidsWith, uniqueMarker, waitUntil } from "../support/processes.js";
import { startFromProcfile } from "../support/procfile.js";
import { type RunningProcess, spawnBin } from "../support/spawn-app.js";
import { AGENT } from "../support/worker-harness.js";

describe.runIf(postgresAvailable)("worker processes on the real server", () => {
  let database: TestDatabase;
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  const repos = makeBareRepository("Codertocat/Hello-World");
  const workers: RunningProcess[] = [];
  beforeAll(async () => {
    database = await openTestDatabase("postgres", { max: 5 });
    github = await startFakeGitHub();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")));
    await github.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
    // Each test reads only the GitHub requests of its own workers.
    github.requests.length = 0;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop("SIGKILL")));
  });

  function workerEnv(id: string, agentArgs: string[], extra: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-worker-"));
    const config = join(dir, "labelrun.config.yml");
    writeFileSync(
      config,
      JSON.stringify({
        job_types: { implement: { command: [process.execPath, AGENT, ...agentArgs], label: "agent:implement" } },
      }),
    );
    return {
      DATABASE_URL: database.url as string,
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: "s",
      GITHUB_API_URL: github.url,
      CLONE_BASE_URL: repos.baseUrl,
      LABELRUN_CONFIG: config,
      WORKSPACE_ROOT: join(dir, "workspaces"),
      WORKER_ID: id,
      WORKER_CONCURRENCY: "3",
      INSTALLATION_CONCURRENCY: "2",
      POLL_INTERVAL_SECONDS: "1",
      HEARTBEAT_SECONDS: "1",
      LOG_LEVEL: "info",
      REDELIVER_FAILED_DELIVERIES: "false",
      ...extra,
    };
  }

  async function queueJobs(count: number, installations: number[]) {
    for (const id of installations) await seedInstallation(database.db, id);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const installationId = installations[i % installations.length] ?? 2;
      const job = await makeJob(database.db, {
        installationId,
        repositoryId: 1000 + installationId,
        repositoryFullName: "Codertocat/Hello-World",
        targetNumber: i + 1,
        at: new Date(),
      });
      await transitionJob(database.db, { jobId: job.id, from: "pending", to: "queued", at: new Date(), actor: "test" });
      ids.push(job.id);
    }
    return ids;
  }

  it("with two worker processes, a queued job says truly why it waits: no worker online, then the installation's limit with the jobs that run, then no worker again", async () => {
    const ids = await queueJobs(3, [2]);
    const limits = { installationLimit: 2 };
    const reasonOf = async (id: number) => {
      const job = await getJob(database.db, id);
      return job ? (await queuedReasons(database.db, [job], limits, new Date())).get(id) : undefined;
    };
    expect(await reasonOf(ids[2] ?? 0)).toBe("for a worker: no worker is online");
    const markers = [uniqueMarker("reason-a"), uniqueMarker("reason-b")];
    for (const [i, marker] of markers.entries()) {
      workers.push(
        spawnBin("worker", workerEnv(`reasons-${i}`, ["slow", "60000", marker], { SHUTDOWN_GRACE_SECONDS: "1" })),
      );
    }
    // Two of the three run (the installation's limit is 2, whichever worker took them); the third waits.
    let running: number[] = [];
    for (const started = Date.now(); running.length < 2; ) {
      if (Date.now() - started > 30_000)
        throw new Error(`two jobs did not start:\n${workers.map((w) => w.output()).join("\n")}`);
      running = (
        await queryRows<{ id: string | number }>(
          database.db,
          sql`select id from jobs where status = 'running' order by id`,
        )
      ).map((row) => Number(row.id));
      await new Promise((r) => setTimeout(r, 100));
    }
    const waiting = ids.find((id) => !running.includes(id)) ?? 0;
    expect(await reasonOf(waiting)).toBe(
      `the installation's limit is reached (2 of 2 running: ${running.map((id) => `#${id}`).join(", ")})`,
    );
    // Both workers stop: they leave the presence table, and the job waits for a worker again.
    await Promise.all(workers.splice(0).map((w) => w.stop("SIGTERM")));
    expect(await reasonOf(waiting)).toBe("for a worker: no worker is online");
  }, 60_000);

  it("a SIGTERM while the worker starts (its presence row on the way) stops it gracefully: exit 0 and no presence left behind", async () => {
    const worker = spawnBin("worker", workerEnv("early-stop", ["slow", "100"]));
    workers.push(worker);
    const locker = postgres(database.url as string, { max: 1, onnotice: () => {} });
    try {
      await locker.begin(async (tx) => {
        // The worker's first announce waits on this lock: the worker is inside its start, its presence row sent.
        await tx`lock table workers in access exclusive mode`;
        // Looked up from another connection: inside a transaction, pg_stat_activity is a snapshot.
        const announceWaits = async () =>
          (
            await queryRows(
              database.db,
              sql`select 1 from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock' and query like 'insert into "workers"%'`,
            )
          ).length > 0;
        await waitUntil(announceWaits, `the worker's announce to wait on the lock:\n${worker.output()}`, 30_000);
        worker.child.kill("SIGTERM");
        // A process without a handler yet dies of the signal here; one with it waits for its start.
        await new Promise((r) => setTimeout(r, 300));
      });
      expect(await worker.stop(), worker.output()).toBe(0);
      expect(await queryRows(database.db, sql`select worker_id from workers`)).toEqual([]);
    } finally {
      await locker.end({ timeout: 5 });
    }
  }, 60_000);

  it("3 worker processes over 60 queued jobs run each exactly once and never exceed 2 running per installation", async () => {
    await queueJobs(60, [2, 3]);
    for (let i = 0; i < 3; i++) workers.push(spawnBin("worker", workerEnv(`w${i}`, ["slow", "150"])));
    let maxRunning = 0;
    for (const started = Date.now(); ; ) {
      const rows = await queryRows<{ installation_id: string; running: string }>(
        database.db,
        sql`select installation_id, count(*) as running from jobs where status = 'running' group by installation_id`,
      );
      for (const row of rows) maxRunning = Math.max(maxRunning, Number(row.running));
      const [done] = await queryRows<{ n: string }>(
        database.db,
        sql`select count(*) as n from jobs where status = 'completed'`,
      );
      if (Number(done?.n) === 60) break;
      if (Date.now() - started > 90_000)
        throw new Error(`only ${done?.n} of 60 completed:\n${workers.map((w) => w.output()).join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(maxRunning).toBeGreaterThan(0);
    expect(maxRunning).toBeLessThanOrEqual(2);
    const claims = await queryRows<{ job_id: string; claims: string }>(
      database.db,
      sql`select job_id, count(*) as claims from job_events where code = 'CLAIMED' group by job_id`,
    );
    expect(claims).toHaveLength(60);
    const twice = claims.filter((c) => c.claims !== "1").map((c) => c.job_id);
    // A job claimed twice fails with its timeline in the message.
    const timeline = twice.length
      ? JSON.stringify(
          await queryRows(
            database.db,
            sql`select job_id, from_status, to_status, code, message, actor from job_events where job_id = ${twice[0]} order by id`,
          ),
        )
      : "";
    expect(twice, timeline).toEqual([]);
    const byWorker = await queryRows<{ worker_id: string }>(database.db, sql`select distinct worker_id from jobs`);
    expect(byWorker.length).toBeGreaterThan(1);
    expect(await Promise.all(workers.splice(0).map((w) => w.stop()))).toEqual([0, 0, 0]);
    // Each job told its own issue: one comment created per issue, never two.
    const creates = github.requests.filter((r) => r.method === "POST" && r.path.endsWith("/comments"));
    expect(new Set(creates.map((r) => r.path)).size).toBe(creates.length);
    expect(creates.length).toBe(60);
  }, 120_000);

  it("SIGTERM stops claiming, waits the grace period, then hands the running job back as deferred WORKER_LOST", async () => {
    const [jobId] = await queueJobs(1, [2]);
    const worker = spawnBin("worker", workerEnv("sigterm", ["slow", "60000"], { SHUTDOWN_GRACE_SECONDS: "0.5" }));
    workers.push(worker);
    for (const started = Date.now(); (await getJob(database.db, jobId ?? 0))?.status !== "running"; ) {
      if (Date.now() - started > 20_000) throw new Error(worker.output());
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await worker.stop("SIGTERM")).toBe(0);
    expect(await getJob(database.db, jobId ?? 0)).toMatchObject({ status: "deferred", failureCode: "WORKER_LOST" });
  }, 60_000);

  it.each([
    ["the Procfile's worker process group (a dyno, systemctl stop)", "group"],
    ["its top process only (docker stop)", "top"],
  ] as const)(
    "SIGTERM to %s while an agent runs: the agent is stopped and the job handed back once as deferred WORKER_LOST",
    async (_name, target) => {
      const [jobId] = await queueJobs(1, [2]);
      const marker = uniqueMarker("procfile-agent");
      const worker = startFromProcfile(
        "worker",
        workerEnv(`procfile-${target}`, ["slow", "60000", marker], { SHUTDOWN_GRACE_SECONDS: "1" }),
      );
      try {
        for (const started = Date.now(); pidsWith(marker).length === 0; ) {
          if (Date.now() - started > 30_000) throw new Error(`the agent did not start:\n${worker.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const pid = worker.child.pid ?? 0;
        process.kill(target === "group" ? -pid : pid, "SIGTERM");
        expect(await worker.exited, worker.output()).toBe(0);
        expect(worker.output()).not.toContain("second signal");
        await waitUntil(() => pidsWith(marker).length === 0, "the agent to be gone", 5_000);
        expect(await getJob(database.db, jobId ?? 0)).toMatchObject({
          status: "deferred",
          failureCode: "WORKER_LOST",
          attempt: 0,
        });
        const handBacks = await queryRows<{ n: string }>(
          database.db,
          sql`select count(*) as n from job_events where job_id = ${jobId ?? 0} and to_status = 'deferred' and code = 'WORKER_LOST'`,
        );
        expect(Number(handBacks[0]?.n)).toBe(1);
      } finally {
        if (worker.child.exitCode === null) process.kill(-(worker.child.pid ?? 0), "SIGKILL");
      }
    },
    60_000,
  );

  it("a worker killed with SIGKILL mid-job: the sweep hands the job back (WORKER_LOST) and another worker completes it", async () => {
    const [jobId] = await queueJobs(1, [2]);
    const fast = { LEASE_SECONDS: "2", HEARTBEAT_SECONDS: "0.5", MAINTENANCE_INTERVAL_SECONDS: "1" };
    const doomed = spawnBin("worker", workerEnv("doomed", ["slow", "3000"], fast));
    workers.push(doomed);
    for (const started = Date.now(); (await getJob(database.db, jobId ?? 0))?.status !== "running"; ) {
      if (Date.now() - started > 20_000) throw new Error(doomed.output());
      await new Promise((r) => setTimeout(r, 50));
    }
    await doomed.stop("SIGKILL");
    const rescuer = spawnBin("worker", workerEnv("rescuer", ["slow", "300"], fast));
    workers.push(rescuer);
    for (const started = Date.now(); (await getJob(database.db, jobId ?? 0))?.status !== "completed"; ) {
      if (Date.now() - started > 30_000) throw new Error(rescuer.output());
      await new Promise((r) => setTimeout(r, 100));
    }
    const events = await queryRows<{ code: string | null; to_status: string; actor: string }>(
      database.db,
      sql`select code, to_status, actor from job_events where job_id = ${jobId ?? 0} order by id`,
    );
    expect(events.map((e) => `${e.to_status}:${e.code ?? ""}:${e.actor}`)).toEqual([
      "pending:CREATED:test",
      "queued::test",
      "running:CLAIMED:worker:doomed",
      "deferred:WORKER_LOST:maintenance",
      "queued::maintenance",
      "running:CLAIMED:worker:rescuer",
      "completed::worker:rescuer",
    ]);
    expect(await getJob(database.db, jobId ?? 0)).toMatchObject({ attempt: 2, workerId: "rescuer" });
  }, 60_000);
});
