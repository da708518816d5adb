// test:soak — labelrun under steady load for 5 minutes (--quick: 45 s): a web process and two
// workers on PostgreSQL, triggers every 200 ms for jobs that complete (the demo agent), fail,
// time out and defer, while one worker is killed (SIGKILL) and restarted every minute (--quick:
// every 15 s). Afterwards no job may be running without a live worker, none may be stuck, and the
// web process's memory is printed before and after. Exits 1 if a check fails. Loopback only.
import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { startFakeGitHub } from "../test/support/fake-github.js";
import { BENCH_SECRET, benchDatabase, benchPrivateKey, issuesPayload, signedHeaders, startProcess } from "./support.js";

const quick = process.argv.includes("--quick");
const durationMs = quick ? 45_000 : 300_000;
const killEveryMs = quick ? 15_000 : 60_000;
const agent = join(process.cwd(), "test/fixtures/agents/agent.mjs");
const dir = mkdtempSync(join(tmpdir(), "labelrun-soak-"));
const config = join(dir, "labelrun.config.yml");
writeFileSync(
  config,
  JSON.stringify({
    job_types: {
      implement: { command: [process.execPath, join(process.cwd(), "examples/agents/demo-agent.mjs")], clone: false },
      failing: { command: [process.execPath, agent, "exit", "3"], clone: false },
      slowpoke: { command: [process.execPath, agent, "slow", "60000"], clone: false, timeout_minutes: 0.05 },
      later: { command: [process.execPath, agent, "exit", "75"], clone: false, max_attempts: 2 },
    },
  }),
);
const labels = ["agent:implement", "agent:implement", "agent:failing", "agent:slowpoke", "agent:later"];
const rss = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const database = await benchDatabase("soak");
const github = await startFakeGitHub();
const privateKey = benchPrivateKey();
const env = (extra: Record<string, string>): Record<string, string> => ({
  DATABASE_URL: database.url,
  APP_ID: "1",
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: BENCH_SECRET,
  GITHUB_API_URL: github.url,
  LABELRUN_CONFIG: config,
  REDELIVER_FAILED_DELIVERIES: "false",
  MAINTENANCE_INTERVAL_SECONDS: "3",
  LEASE_SECONDS: "6",
  HEARTBEAT_SECONDS: "1",
  POLL_INTERVAL_SECONDS: "1",
  WORKER_CONCURRENCY: "3",
  INSTALLATION_CONCURRENCY: "4",
  STALE_PENDING_SECONDS: "5",
  TIMEOUT_GRACE_SECONDS: "5",
  SHUTDOWN_GRACE_SECONDS: "1",
  LOG_LEVEL: "info",
  LOG_FORMAT: "json",
  PORT: "0",
  HOST: "127.0.0.1",
  ...extra,
});
const errors: string[] = [];
// SOAK_LOG_DIR=<dir>: every process's log lines go to <dir>/<process>.log as well.
const logDir = process.env.SOAK_LOG_DIR;
const watchErrors =
  (name: string) =>
  (line: string): void => {
    if (/"level":(50|60)/.test(line)) errors.push(line);
    if (logDir) appendFileSync(`${logDir}/${name}.log`, `${line}\n`);
  };
const children: ChildProcess[] = [];
let failed = false;
try {
  const web = await startProcess(["src/bin/web.ts"], env({}), watchErrors("web"));
  children.push(web.child);
  await startWorker("steady");
  let victim = await startWorker("victim");
  let kills = 0;
  const rssStart = rss(web.child.pid ?? 0);
  const started = Date.now();
  let sent = 0;
  let nextKill = started + killEveryMs;
  while (Date.now() - started < durationMs) {
    const n = ++sent;
    const body = JSON.stringify(issuesPayload("labeled", n, labels[n % labels.length]));
    send(web.port, body, `soak-${n}`);
    if (Date.now() >= nextKill) {
      victim.kill("SIGKILL");
      kills++;
      victim = await startWorker(`victim-${kills}`);
      nextKill += killEveryMs;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const rssEnd = rss(web.child.pid ?? 0);
  // Let the system settle: leases expire, sweeps requeue, deferred jobs come due or are abandoned.
  await new Promise((r) => setTimeout(r, 20_000));
  const now = new Date();
  const counts = (await database.handle.db.execute(
    sql`select status, count(*)::int as n from jobs group by status order by status`,
  )) as unknown as Array<{ status: string; n: number }>;
  const [orphans] = (await database.handle.db.execute(
    sql`select count(*)::int as n from jobs where status = 'running' and lease_expires_at < ${now.toISOString()}::timestamptz`,
  )) as unknown as Array<{ n: number }>;
  // Stuck: pending, or deferred and due, for more than 30 s, with no hold.
  const stuckSince = new Date(now.getTime() - 30_000).toISOString();
  const stuckWhere = sql`(j.status = 'pending' and j.hold is null and j.created_at < ${stuckSince}::timestamptz)
          or (j.status = 'deferred' and j.hold is null and j.run_after < ${stuckSince}::timestamptz)`;
  const [stuck] = (await database.handle.db.execute(
    sql`select count(*)::int as n from jobs j where ${stuckWhere}`,
  )) as unknown as Array<{ n: number }>;
  // The installations' running counts (what claims read) against the running jobs themselves.
  const [miscounted] = (await database.handle.db.execute(
    sql`select count(*)::int as n from installations i
        where i.running_count <> (select count(*) from jobs j where j.installation_id = i.id and j.status = 'running')`,
  )) as unknown as Array<{ n: number }>;
  console.log(`| check | value |\n|---|---|`);
  console.log(`| triggers sent | ${sent} over ${durationMs / 1000} s |`);
  console.log(`| worker kills (SIGKILL) and restarts | ${kills} |`);
  console.log(`| jobs by state | ${counts.map((c) => `${c.status} ${c.n}`).join(", ")} |`);
  console.log(`| running with no live worker (lease expired) | ${orphans?.n} |`);
  console.log(`| pending or due deferred for more than 30 s | ${stuck?.n} |`);
  console.log(`| installations whose running count is not their running jobs | ${miscounted?.n} |`);
  console.log(`| web RSS before → after | ${rssStart.toFixed(0)} MiB → ${rssEnd.toFixed(0)} MiB |`);
  console.log(`| error lines logged | ${errors.length} |`);
  for (const line of errors.slice(0, 5)) console.log(`error: ${line.slice(0, 300)}`);
  // The stuck jobs themselves, with their last events: what the check caught, for whoever reads the run.
  const stuckJobs = (await database.handle.db.execute(
    sql`select j.id, j.status, j.job_type, j.attempt, j.created_at, j.updated_at, j.run_after, j.failure_code,
          (select string_agg(e.from_status || '>' || e.to_status || coalesce(' ' || e.code, '') || ' @' || to_char(e.at, 'HH24:MI:SS.MS') || ' by ' || e.actor, '; ' order by e.id)
             from (select * from job_events where job_id = j.id order by id desc limit 6) e) as events
        from jobs j
        where ${stuckWhere}
        order by j.id limit 10`,
  )) as unknown as Array<Record<string, unknown>>;
  for (const job of stuckJobs) console.log(`stuck: ${JSON.stringify(job)}`);
  failed = (orphans?.n ?? 1) > 0 || (stuck?.n ?? 1) > 0 || (miscounted?.n ?? 1) > 0;
  console.log(
    `\ntest:soak: ${failed ? "FAILED" : "passed"}, web RSS ${rssStart.toFixed(0)} → ${rssEnd.toFixed(0)} MiB`,
  );
} finally {
  for (const child of children) child.kill("SIGKILL");
  await github.close();
  await new Promise((r) => setTimeout(r, 1000));
  await database.drop();
}
process.exit(failed ? 1 : 0);

async function startWorker(id: string): Promise<ChildProcess> {
  // Workers log no port: start them and give them a moment.
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--import", "tsx", "src/bin/worker.ts"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env({ WORKER_ID: id }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const watch = watchErrors(id);
  child.stdout?.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) watch(line);
  });
  children.push(child);
  return child;
}

function send(port: number, body: string, id: string): void {
  const req = request(
    { host: "127.0.0.1", port, path: "/api/github/webhooks", method: "POST", headers: signedHeaders(body, id) },
    (res) => res.resume(),
  );
  req.on("error", () => {});
  req.end(body);
}
