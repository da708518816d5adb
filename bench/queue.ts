// bench:queue — labelrun's own side of the queue benchmark: claim throughput
// (queued → running → completed with a no-op job, the lifecycle's events and
// NOTIFYs included) for a worker of 10 slots run as src/worker/worker.ts runs
// them (claims up to its free slots at once; a slot is free once its run is
// over, while its end is recorded; the runs that end in one turn end in one
// statement, as transitionJob sends them), and pick-up latency (a job
// queued while a worker idles on LISTEN, until it is running; the idle worker
// goes straight to the announced job), on the local PostgreSQL.
// Peers, same no-op work at the same concurrency on the same database in the same run:
// graphile-worker (default; batched) and pg-boss (batch fetch, polling every 0.5 s).
import postgres from "postgres";
import { recordInstallation } from "../src/db/installations.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import type { JobRow } from "../src/db/schema.js";
import { announceWaiting } from "../src/jobs/announce-changes.js";
import { claimAndLook } from "../src/jobs/claim-next-job.js";
import { createJob } from "../src/jobs/create-job.js";
import { JOB_CHANNEL, parseJobNotice } from "../src/jobs/notify.js";
import { transitionJob } from "../src/jobs/transition-job.js";
import {
  graphileWorker,
  IDLE_BEFORE_MS,
  medianOf,
  mediansInTurns,
  pgBoss,
  type QueueFigures,
  samplePickups,
} from "./queue-peers.js";
import { seedBacklog, seedHistory } from "./seed-history.js";

const quick = process.argv.includes("--quick");
const total = quick ? 500 : 3000;
const inFlight = 10;
const installations = 10;
const samples = quick ? 50 : 200;
const warmUp = quick ? 100 : 500;
const historySize = quick ? 100_000 : 1_000_000;
const backlogSize = quick ? 10_000 : 100_000;
/** Each case but pg-boss's is run this many times; the table shows each figure's median. */
const reps = quick ? 1 : 3;
const baseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const name = `labelrun_bench_queue_${process.pid}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const url = new URL(baseUrl);
url.pathname = `/${name}`;

await admin.unsafe(`create database ${name}`);
const handle = openPostgres({ url: url.toString(), max: inFlight + 2 });
let sequence = 0;
/** Creates a `pending` job, as intake does (nothing claims it before the dispatcher queues it). */
async function createPending(): Promise<number> {
  const n = ++sequence;
  const { job } = await createJob(handle.db, {
    at: new Date(),
    actor: "bench",
    job: {
      installationId: 1 + (n % installations),
      repositoryId: 1000 + (n % installations),
      repositoryFullName: `bench/repo-${n % installations}`,
      targetNumber: n,
      targetKind: "issue",
      jobType: "noop",
    },
  });
  // The new job's notice (to boards; createJob does not wait for it) is out before any move.
  await announceWaiting(handle.db);
  return job.id;
}
/** labelrun's enqueue: the dispatcher's move pending → queued (its commit sends the NOTIFY). */
async function queue(jobId: number): Promise<void> {
  await transitionJob(handle.db, { jobId, from: "pending", to: "queued", at: new Date(), actor: "bench" });
}
async function queueJob(): Promise<void> {
  await queue(await createPending());
}
/**
 * Runs a claimed job (nothing) and completes it as the worker's finish does: guarded by the
 * claim and by the pause flag the claim read.
 */
async function complete(workerId: string, job: JobRow): Promise<void> {
  const done = await transitionJob(handle.db, {
    jobId: job.id,
    from: "running",
    to: "completed",
    at: new Date(),
    actor: `worker:${workerId}`,
    claim: { workerId, attempt: job.attempt },
    expect: { pauseRequested: job.pauseRequested },
  });
  if (!done.ok) throw new Error("lost a claim");
}

/**
 * A worker with `inFlight` slots as src/worker/worker.ts runs them: it claims up to its free
 * slots at once and claims again as runs are over, until a claim sees nothing more due. A slot is
 * free once its run is over (here at once: the run does nothing) while the run's end is
 * recorded; running and ending runs together are at most twice `inFlight`.
 */
async function runWorker(workerId: string, onClaimed: () => void = () => {}, announced?: number): Promise<void> {
  let first = announced;
  let ending = 0;
  let drained = false;
  let failed: unknown = null;
  let wake: (() => void) | null = null;
  for (;;) {
    if (failed) throw failed;
    // No run is ever at work here (each is over as soon as it starts): the free slots are bounded
    // only by the runs still ending.
    const free = Math.min(inFlight, 2 * inFlight - ending);
    if (free > 0 && !drained) {
      const { jobs: claimed, moreDue } = await claimAndLook(
        handle.db,
        { workerId, at: new Date(), leaseSeconds: 60, installationLimit: 100, first },
        free,
      );
      first = undefined;
      if (claimed.length) onClaimed();
      for (const job of claimed) {
        ending++;
        complete(workerId, job)
          .catch((error: unknown) => {
            failed = error;
          })
          .finally(() => {
            ending--;
            wake?.();
          });
      }
      // Nothing more was due: the worker would wait for a notice; here it is done once its runs have ended.
      if (claimed.length) drained = !moreDue;
      if (claimed.length && !drained) continue;
      if (!claimed.length && ending === 0) return;
    }
    if (drained && ending === 0) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = null;
  }
}

/**
 * Each side's jobs are queued, then the database is vacuumed and analyzed before they run, as the
 * scale cases' seeding leaves it: otherwise autovacuum picked the small tables of the first case
 * to work on while it was measured (its median 2,530 jobs/s, the same code behind 1,000,000
 * finished jobs 3,531).
 */
const settle = async () => {
  await (handle.client as NonNullable<typeof handle.client>).unsafe("vacuum analyze");
};

/** Throughput over `total` pre-queued jobs, then pick-up latency for an idle worker. */
async function measure(): Promise<QueueFigures> {
  for (let i = 0; i < total; i++) await queueJob();
  await settle();
  const started = performance.now();
  await runWorker("w");
  const seconds = (performance.now() - started) / 1000;
  const throughput = total / seconds;

  // Pick-up: an idle worker woken by NOTIFY; time from the start of the pending → queued move
  // (its commit sends the NOTIFY) to the claim. The jobs are created pending first, as intake does
  // before the dispatcher queues them, so each timed move starts as soon as the job before was
  // picked up, its completion still under way, as graphile-worker's add_job does here.
  const pending: number[] = [];
  for (let i = 0; i < 2 * samples; i++) pending.push(await createPending());
  let waiting: (() => void) | null = null;
  const unlisten = await handle.listen(JOB_CHANNEL, (payload) => {
    const notice = parseJobNotice(payload);
    if (notice?.status === "queued") {
      void runWorker("idle", () => waiting?.(), notice.id);
    }
  });
  const pickup = await samplePickups(
    samples,
    (hook) => {
      waiting = hook;
    },
    () => queue(pending.shift() as number),
  );
  await unlisten();
  return { throughput, ...pickup };
}

try {
  await migrate(handle);
  for (let i = 1; i <= installations; i++)
    await recordInstallation(handle.db, { id: i, accountLogin: `org-${i}` }, new Date());
  for (let i = 0; i < warmUp; i++) await queueJob();
  await runWorker("warm-up");
  // Each side is measured warm: its code compiled, its connections open and its statements
  // prepared (labelrun's first case otherwise ran cold and came out below its own scale cases).
  await graphileWorker(url.toString(), { total: warmUp, samples: 5, batched: false });
  await graphileWorker(url.toString(), { total: warmUp, samples: 5, batched: true });
  // labelrun's first case and graphile-worker's two settings take turns, so their ratios compare
  // the same minutes of the machine (before: all labelrun's cases, the seeding of 1,100,000 rows,
  // then graphile-worker's).
  const [ours, gwDefault, gwBatched] = (await mediansInTurns(reps, [
    measure,
    () => graphileWorker(url.toString(), { total, samples, batched: false, settle }),
    () => graphileWorker(url.toString(), { total, samples, batched: true, settle }),
  ])) as [QueueFigures, QueueFigures, QueueFigures];

  // Scale: the same with a long history, then with a deep backlog of other installations.
  const client = handle.client as NonNullable<typeof handle.client>;
  await seedHistory(client, { finished: historySize, active: 0, now: new Date() });
  const withHistory = await medianOf(reps, measure);
  await seedBacklog(client, { queued: backlogSize, installations: 1000, now: new Date() });
  const withBacklog = await medianOf(reps, measure);

  // pg-boss polls (20 jobs/s with batch 10 every 0.5 s): at most 1,000 jobs keeps the run short.
  const boss = await pgBoss(url.toString(), { total: Math.min(total, 1000), samples: Math.min(samples, 20) });
  const rows: Array<[string, QueueFigures]> = [
    ["labelrun (lifecycle and events included)", ours],
    [`labelrun, ${historySize.toLocaleString("en")} finished jobs in the table`, withHistory],
    [
      `labelrun, also ${backlogSize.toLocaleString("en")} older queued jobs over 1,000 other installations at their limit`,
      withBacklog,
    ],
    ["graphile-worker 0.17, default", gwDefault],
    ["graphile-worker 0.17, batched (local queue 100, batched completions)", gwBatched],
    [`pg-boss 10, batch fetch 10, polling 0.5 s (${Math.min(total, 1000)} jobs)`, boss],
  ];
  console.log(
    `\n| ${total} no-op jobs, 10 in flight${reps > 1 ? ` (median of ${reps} runs; pg-boss 1)` : ""} | jobs/s | pick-up p50 ms | pick-up p99 ms | pick-up p50 ms, ${IDLE_BEFORE_MS} ms idle before |\n|---|---:|---:|---:|---:|`,
  );
  for (const [label, f] of rows) {
    console.log(
      `| ${label} | ${f.throughput.toFixed(0)} | ${f.pickupP50.toFixed(2)} | ${f.pickupP99.toFixed(2)} | ${f.pickupIdleP50.toFixed(2)} |`,
    );
  }
  const within = (f: QueueFigures) =>
    `${((f.throughput / ours.throughput - 1) * 100).toFixed(0)} % throughput, pick-up p50 ${f.pickupP50.toFixed(2)} ms`;
  console.log(`\nscale (target: within 20 %): history ${within(withHistory)}; backlog ${within(withBacklog)}`);
  console.log(
    `\nbench:queue: ${ours.throughput.toFixed(0)} jobs/s (${(ours.throughput / gwDefault.throughput).toFixed(2)}× graphile-worker default, ${(ours.throughput / gwBatched.throughput).toFixed(2)}× batched, ${(ours.throughput / boss.throughput).toFixed(2)}× pg-boss), pick-up p50 ${ours.pickupP50.toFixed(2)} ms (graphile-worker ${gwDefault.pickupP50.toFixed(2)} ms), after ${IDLE_BEFORE_MS} ms idle ${ours.pickupIdleP50.toFixed(2)} ms (graphile-worker ${gwDefault.pickupIdleP50.toFixed(2)} ms)`,
  );
} finally {
  await handle.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
