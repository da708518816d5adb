// bench:github-calls — how many GitHub API requests one job's whole life costs
// (label → dispatch → run → completed, with the status comment and the label
// removal), counted by nock in a scripted in-process run, and for 100 jobs
// across 10 repositories. No network: every request is answered by nock.
import { generateKeyPairSync } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import nock from "nock";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { createIntake } from "../src/app.js";
import { systemClock } from "../src/clock.js";
import { parseJobTypes } from "../src/config/job-types.js";
import { migrate } from "../src/db/migrate.js";
import { openPGlite } from "../src/db/open-pglite.js";
import { AfterResponseTasks } from "../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../src/github/intake/build-intake-deps.js";
import { buildJobServices } from "../src/github/job-services.js";
import { octokitPort } from "../src/github/octokit-port.js";
import { claimNextJob } from "../src/jobs/claim-next-job.js";
import { runJob } from "../src/worker/run-job.js";
import { runProcess } from "../src/worker/run-process.js";
import { hostSystemEntries } from "../src/worker/sandbox/host-system.js";
import { agentHostUser, probeSandbox } from "../src/worker/sandbox/probe-sandbox.js";

const quick = process.argv.includes("--quick");
nock.disableNetConnect();
const log = pino({ level: "silent" });
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const Octokit = ProbotOctokit.defaults((o: Record<string, unknown>) => ({
  ...o,
  retry: { enabled: false },
  throttle: { ...(o.throttle as object), enabled: false },
}));
const probot = new Probot({ appId: 1, privateKey, secret: "s", Octokit, log });
const github = octokitPort((id) => (id === undefined ? probot.auth() : probot.auth(id)) as never);
const jobTypes = parseJobTypes(
  JSON.stringify({
    job_types: {
      implement: {
        command: [process.execPath, "examples/agents/demo-agent.mjs"],
        label: "agent:implement",
        clone: false,
      },
      // The same agent, slowed to run past the status comment's running edit (RUNNING_EDIT_DELAY_MS).
      "implement-slowly": {
        command: [process.execPath, "examples/agents/demo-agent.mjs"],
        label: "agent:implement-slowly",
        clone: false,
        env: ["LABELRUN_DEMO_STEP_MS"],
      },
    },
  }),
  "bench",
  { baseDir: process.cwd() },
);

// Every request GitHub would get, by endpoint.
const counts = new Map<string, number>();
const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
let nextComment = 1;
const template = (method: string, path: string) =>
  `${method} ${path
    .replace(/^\/repos\/[^/]+\/[^/]+/, "/repos/{o}/{r}")
    .replace(/\/\d+/g, "/{n}")
    .replace(/labels\/[^/]+$/, "labels/{name}")
    .replace(/contents\/.*$/, "contents/{path}")}`;
const answer = (method: string, uri: string): [number, unknown] => {
  const path = new URL(uri, "https://api.github.com").pathname;
  count(template(method, path));
  if (path.startsWith("/app/installations/")) return [201, { token: "ghs_bench", expires_at: "2099-01-01T00:00:00Z" }];
  if (path.includes("/contents/")) return [404, { message: "Not Found" }];
  if (/\/issues\/\d+$/.test(path)) {
    return [
      200,
      {
        number: 1,
        state: "open",
        title: "Bench issue",
        body: "",
        html_url: "https://github.com/o/r/issues/1",
        labels: [],
        user: { login: "octocat" },
      },
    ];
  }
  if (method === "POST" && path.endsWith("/comments")) return [201, { id: nextComment++ }];
  return [200, {}];
};
for (const method of ["GET", "POST", "PATCH", "DELETE"]) {
  // One-argument reply functions: nock 15.0.0 passes a callback as a second one.
  nock("https://api.github.com")
    .persist()
    .intercept(() => true, method)
    // nock 15.0.0 hands a one-argument reply function the fetch Request.
    .reply(((req: string | { url: string }) => answer(method, typeof req === "string" ? req : req.url)) as never);
}

// The agent runs sandboxed, as in production (its cost is part of a job's).
await mkdir("/tmp/labelrun-bench", { recursive: true, mode: 0o700 });
const sandbox = await probeSandbox({
  workerDir: "/tmp/labelrun-bench",
  hostUser: agentHostUser({}),
  system: hostSystemEntries(),
});
if (sandbox.unavailable) throw new Error(sandbox.unavailable);

const pg = new PGlite();
const handle = await openPGlite({ instance: pg });
await migrate(handle);
const after = new AfterResponseTasks(log);
// As src/bin/github-services.ts wires them (FIRST_COMMENT_DELAY_SECONDS' default).
const firstCommentDelayMs = 5_000;
const collaborators = {
  db: handle.db,
  github,
  jobTypes,
  clock: systemClock,
  log,
  writerId: "bench",
  firstCommentDelayMs,
};
const receive = createIntake(buildIntakeDeps({ ...collaborators, after }));
const services = buildJobServices(collaborators);

let delivery = 0;
async function oneJob(repo: number, issue: number, label = "agent:implement"): Promise<void> {
  const payload = {
    action: "labeled",
    label: { name: label },
    issue: {
      number: issue,
      title: "Bench issue",
      body: "What GitHub sends with every issue event: the body, the labels, the author.",
      labels: [{ name: label }],
      user: { login: "octocat" },
      state: "open",
      html_url: `https://github.com/o/repo-${repo}/issues/${issue}`,
      // GitHub's payload says when the issue last changed: the label being added, a moment ago.
      updated_at: new Date().toISOString(),
    },
    repository: {
      id: 1000 + repo,
      full_name: `bench-org/repo-${repo}`,
      owner: { login: "bench-org", type: "Organization" },
    },
    installation: { id: 7 },
    sender: { login: "octocat", type: "User" },
  };
  await receive({ id: `d-${++delivery}`, name: "issues", payload });
  await after.idle();
  const job = await claimNextJob(handle.db, {
    workerId: "bench",
    at: systemClock.now(),
    leaseSeconds: 60,
    installationLimit: 10,
  });
  if (!job) throw new Error("the job was not queued");
  const final = await runJob(
    {
      db: handle.db,
      clock: systemClock,
      log,
      github,
      jobTypes,
      runProcess,
      serverEnv: { PATH: process.env.PATH, LABELRUN_DEMO_STEP_MS: "3000" },
      serverSecrets: [],
      settings: {
        workerId: "bench",
        leaseSeconds: 60,
        heartbeatMs: 60_000,
        killGraceMs: 1000,
        workspaceRoot: "/tmp/labelrun-bench",
        keepFailedWorkspaces: false,
        logCapBytes: 1 << 20,
        cloneUrl: () => "unused",
        sandbox,
        diskCheckMs: 2_000,
      },
      onJobChanged: services.onJobChanged,
    },
    job,
    { shutdown: new AbortController().signal, cancelled: new AbortController().signal },
  );
  if (final?.status !== "completed") throw new Error(`the job ended ${final?.status}: ${final?.failureMessage}`);
}

const snapshot = () => new Map(counts);
const diff = (before: Map<string, number>) =>
  [...counts]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .sort();
const appCall = (endpoint: string) => endpoint.startsWith("POST /app/installations");

const t0 = snapshot();
await oneJob(1, 1);
const first = diff(t0);
const t1 = snapshot();
await oneJob(1, 2);
const second = diff(t1);
const t1slow = snapshot();
await oneJob(1, 3, "agent:implement-slowly");
const slow = diff(t1slow);
const repos = quick ? 3 : 10;
const perRepo = quick ? 3 : 10;
const t2 = snapshot();
for (let r = 0; r < repos; r++) for (let i = 0; i < perRepo; i++) await oneJob(100 + r, i + 1);
const many = diff(t2);

const print = (title: string, rows: ReadonlyArray<readonly [string, number]>) => {
  console.log(`\n${title}\n| endpoint | requests |\n|---|---:|`);
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  const installation = rows.filter(([k]) => !appCall(k)).reduce((s, [, v]) => s + v, 0);
  const app = rows.filter(([k]) => appCall(k)).reduce((s, [, v]) => s + v, 0);
  console.log(`| **installation-token requests** | **${installation}** |\n| app (JWT) token requests | ${app} |`);
  return installation;
};
print("first job in a repository", first);
const steady = print("a later job in the same repository", second);
const steadySlow = print("a later job in the same repository that runs past its running edit (~6 s)", slow);
const total = print(`${repos * perRepo} jobs across ${repos} repositories`, many);
console.log(
  `\nbench:github-calls: ${steady} rate-limited requests per job after the first in a repository (target ≤ 3 for a job that ends before its running edit), ${steadySlow} for one that runs past it (target ≤ 4), ${(total / (repos * perRepo)).toFixed(1)} per job over ${repos * perRepo} jobs`,
);
await handle.close();
nock.cleanAll();
// The comment's one write (a short job) or its first write showing it running and its final
// edit, the label removal, the agent token's revocation: more is a regression.
if (steady > 3 || steadySlow > 4) {
  console.error(
    `bench:github-calls: ${steady} / ${steadySlow} requests per job, more than the 3 / 4 this version makes`,
  );
  process.exitCode = 1;
}
