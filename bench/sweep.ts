// bench:sweep — maintenance sweep time and the job list's first page with a
// large history: 1,000,000 finished and 1,000 active jobs (--quick: 100,000).
// Talks only to the local PostgreSQL (BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres); makes and drops its own database.

import pino from "pino";
import postgres from "postgres";
import { ManualClock } from "../src/clock.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { jobInsights } from "../src/jobs/job-insights.js";
import { listJobs } from "../src/jobs/list-jobs.js";
import { rollUpJobDays } from "../src/jobs/roll-up-job-days.js";
import { runSweeps, SWEEPS } from "../src/maintenance/run-sweeps.js";
import type { SweepDeps } from "../src/maintenance/sweep-deps.js";
import { seedHistory } from "./seed-history.js";

const quick = process.argv.includes("--quick");
const finished = quick ? 100_000 : 1_000_000;
const active = 1_000;
const baseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const name = `labelrun_bench_sweep_${process.pid}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const url = new URL(baseUrl);
url.pathname = `/${name}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

await admin.unsafe(`create database ${name}`);
const handle = openPostgres({ url: url.toString(), max: 4 });
try {
  await migrate(handle);
  const now = new Date("2026-03-01T12:00:00Z");
  const seedStarted = performance.now();
  await seedHistory(handle.client as NonNullable<typeof handle.client>, { finished, active, now });
  console.log(
    `seeded ${finished.toLocaleString("en-US")} finished and ${active} active jobs in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const deps: SweepDeps = {
    db: handle.db,
    clock: new ManualClock(now),
    log: pino({ level: "silent" }),
    settings: { batchSize: 100, timeoutGraceSeconds: 60, stalePendingSeconds: 15, maxHoldDays: 14, retentionDays: 30 },
    dispatch: async () => {},
    syncComment: async () => "unchanged",
    onJobChanged: async () => {},
    runCommand: async () => {},
    deliveries: null,
  };
  // Warm the cache once, then time each sweep as a tick would run it (5 ticks; later ticks find less to do).
  await runSweeps(deps);
  const rows: Array<[string, number, number]> = [];
  for (const [sweep] of SWEEPS) {
    const times: number[] = [];
    let moved = 0;
    for (let i = 0; i < 5; i++) {
      const [report] = await runSweeps(deps, [sweep]);
      times.push(report?.ms ?? 0);
      moved += report?.moved ?? 0;
    }
    rows.push([sweep, median(times), moved]);
  }
  const pages: Array<[string, number]> = [];
  for (const [label, request] of [
    ["jobs, first page (50)", { limit: 50 }],
    ["jobs, failed only, first page", { limit: 50, statuses: ["failed" as const] }],
    ["jobs, one repository, first page", { limit: 50, repositoryFullName: "bench/repo-7" }],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      await listJobs(handle.db, request);
      times.push(performance.now() - started);
    }
    pages.push([label, median(times)]);
  }
  // The insight pages: one job a minute for ~700 days, so 90 days is 129,600 jobs. The
  // sweep rolls up 30 days a tick; here the rest of the history is rolled up at once.
  const rollupStarted = performance.now();
  const rolledDays = await rollUpJobDays(handle.db, { now, maxDays: 10_000 });
  const rollupMs = performance.now() - rollupStarted;
  console.log(
    `rolled up ${rolledDays} days in ${(rollupMs / 1000).toFixed(1)} s (${(rollupMs / Math.max(1, rolledDays)).toFixed(1)} ms per day of 1,440 jobs)`,
  );
  const insights: Array<[string, number]> = [];
  for (const days of [7, 30, 90]) {
    for (const [label, filter] of [
      ["all", {}],
      ["one repository", { repositoryFullName: "bench/repo-7" }],
      ["one job type", { jobType: "review" }],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await jobInsights(handle.db, { until: now, days, filter });
        times.push(performance.now() - started);
      }
      insights.push([`insights, ${days} days, ${label}`, median(times)]);
    }
  }

  console.log("\n| sweep | median ms | moved in 5 ticks |\n|---|---:|---:|");
  for (const [sweep, ms, moved] of rows) console.log(`| ${sweep} | ${ms.toFixed(2)} | ${moved} |`);
  console.log("\n| query | median ms |\n|---|---:|");
  for (const [label, ms] of [...pages, ...insights]) console.log(`| ${label} | ${ms.toFixed(2)} |`);
  const worst = Math.max(...rows.map((r) => r[1]));
  const worstPage = Math.max(...pages.map((p) => p[1]));
  const worstInsight = Math.max(...insights.map((p) => p[1]));
  console.log(
    `\nbench:sweep: ${worst.toFixed(2)} ms slowest sweep (target < 10 ms), ${worstPage.toFixed(2)} ms slowest first page (target < 50 ms), ${worstInsight.toFixed(2)} ms slowest insight page (target < 50 ms), ${finished.toLocaleString("en-US")} finished jobs`,
  );
} finally {
  await handle.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
