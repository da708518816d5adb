// bench:intake — signed webhook deliveries per second and p50/p99 response time
// against the real `web` process on the real PostgreSQL, next to a no-op Probot
// app in the same run; loopback only. Mix: a third trigger labels (each a new
// job), a third other labels, a third unrelated events. --quick: 3 s per side.
// BENCH_KIND=0 (triggers only), 1 (other labels only) or 2 (unrelated only)
// sends one kind, to see where the time goes.
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { startFakeGitHub } from "../test/support/fake-github.js";

const quick = process.argv.includes("--quick");
const seconds = quick ? 3 : 15;
const connections = 10;
const secret = "bench-secret";
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const baseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const name = `labelrun_bench_intake_${process.pid}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const url = new URL(baseUrl);
url.pathname = `/${name}`;

function start(command: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...command], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /"port":(\d+)/.exec(buffer);
      if (match && Number(match[1]) > 0) resolve({ child, port: Number(match[1]) });
    });
    child.on("exit", (code) => reject(new Error(`${command.join(" ")} exited ${code}`)));
  });
}

let sequence = 0;
function delivery(): { headers: Record<string, string>; body: string } {
  const n = ++sequence;
  const kind = Number(process.env.BENCH_KIND ?? n % 3);
  const issue = {
    number: 100_000 + n,
    title: "Bench",
    state: "open",
    html_url: `https://github.com/bench/repo/issues/${n}`,
  };
  const common = {
    issue,
    repository: { id: 4242, full_name: "bench-org/repo", owner: { login: "bench-org", type: "Organization" } },
    installation: { id: 7 },
    sender: { login: "octocat", type: "User" },
  };
  const payload =
    kind === 0
      ? { action: "labeled", label: { name: "agent:implement" }, ...common }
      : kind === 1
        ? { action: "labeled", label: { name: "bug" }, ...common }
        : { action: "opened", ...common };
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": `bench-${process.pid}-${n}`,
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
  };
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

await admin.unsafe(`create database ${name}`);
const handle = openPostgres({ url: url.toString(), max: 2 });
await migrate(handle);
const github = await startFakeGitHub();
const env = {
  APP_ID: "1",
  PRIVATE_KEY: privateKey,
  WEBHOOK_SECRET: secret,
  GITHUB_API_URL: github.url,
  REDELIVER_FAILED_DELIVERIES: "false",
  MAINTENANCE_INTERVAL_SECONDS: "3600",
  LOG_LEVEL: "warn",
  LOG_FORMAT: "json",
  PORT: "0",
  HOST: "127.0.0.1",
};
const processes: ChildProcess[] = [];
try {
  const noop = await start(["bench/noop-app.ts"], env);
  processes.push(noop.child);
  const web = await start(["src/bin/web.ts"], { ...env, DATABASE_URL: url.toString(), LOG_LEVEL: "info" });
  processes.push(web.child);
  await load(noop.port); // warm-up, discarded
  const peer = await load(noop.port);
  await load(web.port);
  const ours = await load(web.port);
  const [jobs] = (await handle.db.execute(sql`select count(*)::int as n from jobs`)) as unknown as Array<{ n: number }>;
  console.log(`\n| app | deliveries/s | p50 ms | p99 ms | non-2xx |\n|---|---:|---:|---:|---:|`);
  console.log(`| no-op Probot app | ${peer.rps.toFixed(0)} | ${peer.p50} | ${peer.p99} | ${peer.non2xx} |`);
  console.log(`| labelrun web | ${ours.rps.toFixed(0)} | ${ours.p50} | ${ours.p99} | ${ours.non2xx} |`);
  console.log(`\njobs recorded: ${jobs?.n} (a third of labelrun's deliveries, warm-up included, are triggers)`);
  console.log(
    `bench:intake: ${ours.rps.toFixed(0)} deliveries/s, p99 ${ours.p99} ms (${(ours.rps / peer.rps).toFixed(2)}× the no-op Probot app; target ≥ 0.7)`,
  );
} finally {
  for (const child of processes) child.kill("SIGTERM");
  await github.close();
  await handle.close();
  await new Promise((r) => setTimeout(r, 1000));
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
