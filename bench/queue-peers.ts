// The peers of bench:queue: graphile-worker (default, and batched with a local queue and
// batched completions) and pg-boss (batch fetch; it polls, it has no LISTEN/NOTIFY), each doing
// the same no-op work at the same concurrency on the same database.
import { Logger, makeWorkerUtils, run } from "graphile-worker";

/** graphile-worker logs every job at info level: keep the table readable. */
const quiet = new Logger(() => () => {});

import PgBoss from "pg-boss";

export interface QueueFigures {
  throughput: number;
  /** Jobs queued back to back: each as soon as the one before was picked up (its completion still under way). */
  pickupP50: number;
  pickupP99: number;
  /** Each job queued after the worker and the database were left idle for IDLE_BEFORE_MS. */
  pickupIdleP50: number;
}

/**
 * Runs a case `reps` times and keeps the median of each figure: one run of 3,000 jobs lasts about
 * a second, and on this machine a single run of the same code moved by up to ±20 % between runs
 * (checkpoints, autovacuum, the other core's neighbours).
 */
export async function medianOf(reps: number, run: () => Promise<QueueFigures>): Promise<QueueFigures> {
  const [figures] = await mediansInTurns(reps, [run]);
  return figures as QueueFigures;
}

/**
 * Runs the cases in turns (the first, the second, …, then the first again), `reps` times each,
 * and keeps each case's medians. Cases compared with each other run in turns: on this machine the
 * same case moved by a third between the start and the end of one bench run (graphile-worker's
 * default 1,657–2,478 jobs/s in one session), so cases run minutes apart compared the machine's
 * moments as much as the code.
 */
export async function mediansInTurns(
  reps: number,
  cases: ReadonlyArray<() => Promise<QueueFigures>>,
): Promise<QueueFigures[]> {
  const runs: QueueFigures[][] = cases.map(() => []);
  for (let i = 0; i < reps; i++) {
    for (const [k, run] of cases.entries()) runs[k]?.push(await run());
  }
  return runs.map((figures) => {
    const median = (pick: (f: QueueFigures) => number) => percentile(figures.map(pick), 0.5);
    return {
      throughput: median((f) => f.throughput),
      pickupP50: median((f) => f.pickupP50),
      pickupP99: median((f) => f.pickupP99),
      pickupIdleP50: median((f) => f.pickupIdleP50),
    };
  });
}

/** How long the idle pick-up samples leave the system alone before queueing each job. */
export const IDLE_BEFORE_MS = 10;

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

/** Resolves when `count()` reaches `target` (polled every 2 ms). */
async function until(count: () => number, target: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`only ${count()} of ${target} done`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Pick-up latency: `samples` times, enqueue one job and time until the handler runs; first
 * back to back (the worker still completing the job before), then each after IDLE_BEFORE_MS
 * of quiet. `setHook` installs the callback the handler calls; `enqueue` is timed from its start.
 */
export async function samplePickups(
  samples: number,
  setHook: (hook: (() => void) | null) => void,
  enqueue: () => Promise<unknown>,
): Promise<Omit<QueueFigures, "throughput">> {
  const pass = async (idleMs: number) => {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (idleMs) await new Promise((resolve) => setTimeout(resolve, idleMs));
      const picked = new Promise<number>((resolve) => setHook(() => resolve(performance.now())));
      const at = performance.now();
      await enqueue();
      latencies.push((await picked) - at);
      setHook(null);
    }
    return latencies;
  };
  const backToBack = await pass(0);
  const idle = await pass(IDLE_BEFORE_MS);
  return {
    pickupP50: percentile(backToBack, 0.5),
    pickupP99: percentile(backToBack, 0.99),
    pickupIdleP50: percentile(idle, 0.5),
  };
}

export async function graphileWorker(
  connectionString: string,
  options: { total: number; samples: number; batched: boolean; settle?: () => Promise<void> },
): Promise<QueueFigures> {
  const utils = await makeWorkerUtils({ connectionString, logger: quiet });
  await utils.migrate();
  for (let i = 0; i < options.total; i++) await utils.addJob("noop", {});
  await options.settle?.();
  let done = 0;
  let onPickup: (() => void) | null = null;
  const preset = options.batched ? { worker: { localQueue: { size: 100 }, completeJobBatchDelay: 0 } } : undefined;
  const started = performance.now();
  const runner = await run({
    connectionString,
    concurrency: 10,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: quiet,
    ...(preset ? { preset } : {}),
    taskList: {
      noop: async () => {
        done++;
        onPickup?.();
      },
    },
  });
  await until(() => done, options.total);
  const throughput = options.total / ((performance.now() - started) / 1000);
  const pickup = await samplePickups(
    options.samples,
    (hook) => {
      onPickup = hook;
    },
    () => utils.addJob("noop", {}),
  );
  await runner.stop();
  await utils.release();
  return { throughput, ...pickup };
}

export async function pgBoss(
  connectionString: string,
  options: { total: number; samples: number },
): Promise<QueueFigures> {
  const boss = new PgBoss({ connectionString, max: 12 });
  boss.on("error", () => {});
  await boss.start();
  await boss.createQueue("noop");
  for (let i = 0; i < options.total; i += 500) {
    await boss.insert(Array.from({ length: Math.min(500, options.total - i) }, () => ({ name: "noop", data: {} })));
  }
  let done = 0;
  let onPickup: (() => void) | null = null;
  const started = performance.now();
  // One worker fetching 10 jobs per poll: the closest batch fetch comes to "10 in flight".
  await boss.work("noop", { batchSize: 10, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    done += jobs.length;
    onPickup?.();
  });
  await until(() => done, options.total);
  const throughput = options.total / ((performance.now() - started) / 1000);
  const pickup = await samplePickups(
    options.samples,
    (hook) => {
      onPickup = hook;
    },
    () => boss.send("noop", {}),
  );
  await boss.stop({ graceful: false, wait: true });
  return { throughput, ...pickup };
}
