// bench:intake — signed webhook deliveries per second and p50/p99 response time
// against the real `web` process on the real PostgreSQL, next to a no-op Probot
// app in the same run; loopback only. Mix: a third trigger labels (each a new
// job), a third other labels, a third unrelated events. --quick: 3 s per side.
// BENCH_KIND=0 (triggers only), 1 (other labels only) or 2 (unrelated only)
// sends one kind, to see where the time goes. BENCH_PROFILE=<dir>: a CPU profile of
// the web process. It prints the GitHub requests and the warnings the web made while measured.
import type { ChildProcess } from "node:child_process";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import { startFakeGitHub } from "../test/support/fake-github.js";
import { benchAppEnv, benchDatabase, issuesPayload, signedHeaders, startProcess } from "./support.js";

const quick = process.argv.includes("--quick");
const seconds = quick ? 3 : 15;
const connections = 10;

let sequence = 0;
function delivery(): { headers: Record<string, string>; body: string } {
  const n = ++sequence;
  const kind = Number(process.env.BENCH_KIND ?? n % 3);
  const payload =
    kind === 0
      ? issuesPayload("labeled", 100_000 + n, "agent:implement")
      : kind === 1
        ? issuesPayload("labeled", 100_000 + n, "bug")
        : issuesPayload("opened", 100_000 + n);
  const body = JSON.stringify(payload);
  return { body, headers: signedHeaders(body, `bench-${process.pid}-${n}`) };
}

async function load(port: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        path: "/api/github/webhooks",
        setupRequest: ((request: object) => ({ ...request, ...delivery() })) as never,
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
  };
}

const database = await benchDatabase("intake");
const github = await startFakeGitHub();
// The no-op peer logs warnings only; labelrun's web logs its port at info (set below).
const env = benchAppEnv(github.url, { LOG_LEVEL: "warn" });
const processes: ChildProcess[] = [];
const problems = new Map<string, number>();
try {
  const noop = await startProcess(["bench/noop-app.ts"], env);
  processes.push(noop.child);
  // BENCH_PROFILE=<dir>: the web process writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const web = await startProcess(
    [...profile, "src/bin/web.ts"],
    { ...env, DATABASE_URL: database.url, LOG_LEVEL: "info", SHUTDOWN_DRAIN_SECONDS: "0" },
    (line) => {
      // What went wrong in labelrun's web while it was measured (warn and above), by message.
      const entry = /"level":(\d+).*"msg":"([^"]*)"/.exec(line);
      if (entry && Number(entry[1]) >= 40) problems.set(entry[2] ?? "", (problems.get(entry[2] ?? "") ?? 0) + 1);
    },
  );
  processes.push(web.child);
  await load(noop.port); // warm-up, discarded
  const peer = await load(noop.port);
  await load(web.port);
  const githubBefore = github.requests.length;
  const ours = await load(web.port);
  const [jobs] = (await database.handle.db.execute(sql`select count(*)::int as n from jobs`)) as unknown as Array<{
    n: number;
  }>;
  console.log(`\n| app | deliveries/s | p50 ms | p99 ms | non-2xx |\n|---|---:|---:|---:|---:|`);
  console.log(`| no-op Probot app | ${peer.rps.toFixed(0)} | ${peer.p50} | ${peer.p99} | ${peer.non2xx} |`);
  console.log(`| labelrun web | ${ours.rps.toFixed(0)} | ${ours.p50} | ${ours.p99} | ${ours.non2xx} |`);
  const asked = new Map<string, number>();
  for (const r of github.requests.slice(githubBefore)) {
    const what = `${r.method} ${r.path.replace(/\d+/g, ":n")}`;
    asked.set(what, (asked.get(what) ?? 0) + 1);
  }
  console.log(`\nGitHub requests while labelrun was measured: ${github.requests.length - githubBefore}`, asked);
  if (problems.size) console.log("warnings and errors logged by labelrun's web:", problems);
  console.log(`jobs recorded: ${jobs?.n} (a third of labelrun's deliveries, warm-up included, are triggers)`);
  // The issue's targets: a label that triggers nothing ≥ 0.9×, the mixed load ≥ 0.3× (triggers alone: none).
  const kind = process.env.BENCH_KIND;
  const target = kind === undefined ? 0.3 : kind === "1" ? 0.9 : null;
  const ratio = ours.rps / peer.rps;
  const verdict = target === null ? "" : `; target ≥ ${target}: ${ratio >= target ? "met" : "NOT met"}`;
  console.log(
    `bench:intake${kind === undefined ? "" : ` (kind ${kind})`}: ${ours.rps.toFixed(0)} deliveries/s, p99 ${ours.p99} ms (${ratio.toFixed(2)}× the no-op Probot app${verdict})`,
  );
} finally {
  for (const child of processes) child.kill("SIGTERM");
  await github.close();
  await new Promise((r) => setTimeout(r, 1000));
  await database.drop();
}
