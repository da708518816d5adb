import { fileURLToPath } from "node:url";
import pino from "pino";
import { Probot } from "probot";
import { systemClock } from "../../src/clock.js";
import { type JobTypes, parseJobTypes } from "../../src/config/job-types.js";
import type { Database } from "../../src/db/client.js";
import type { JobRow } from "../../src/db/schema.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import type { SandboxSupport } from "../../src/worker/prepare-run.js";
import { type RunJobDeps, runJob } from "../../src/worker/run-job.js";
import { runProcess } from "../../src/worker/run-process.js";
import { makeJob, seedInstallation } from "./factories.js";
import { TEST_PRIVATE_KEY, TestOctokit } from "./github-harness.js";
import { TEST_WORKSPACE_ROOT, testSandbox } from "./sandbox.js";

export const AGENT = fileURLToPath(new URL("../fixtures/agents/agent.mjs", import.meta.url));
/** The prompt-injected agent: every attack the worker must contain (`hostile.mjs`). */
export const HOSTILE_AGENT = fileURLToPath(new URL("../fixtures/agents/hostile.mjs", import.meta.url));

/** Job types whose `implement` command is the test agent in the given mode (plus any other fields). */
export function agentJobTypes(args: string[], fields: Record<string, unknown> = {}, script = AGENT): JobTypes {
  const implement = {
    command: [process.execPath, script, ...args],
    label: "agent:implement",
    max_attempts: 2,
    ...fields,
  };
  return parseJobTypes(JSON.stringify({ job_types: { implement } }));
}

export interface WorkerHarnessOptions {
  db: Database;
  githubUrl: string;
  cloneBaseUrl: string;
  jobTypes: JobTypes;
  serverEnv?: NodeJS.ProcessEnv;
  workerId?: string;
  heartbeatMs?: number;
  killGraceMs?: number;
  logCapBytes?: number;
  serverSecrets?: string[];
  sandbox?: SandboxSupport;
  diskCheckMs?: number;
}

export function makeRunJobDeps(options: WorkerHarnessOptions) {
  const changed: JobRow[] = [];
  const log = pino({ level: "silent" });
  const probot = new Probot({
    appId: 1,
    privateKey: TEST_PRIVATE_KEY,
    secret: "s",
    Octokit: TestOctokit,
    log,
    baseUrl: options.githubUrl,
  });
  const deps: RunJobDeps = {
    db: options.db,
    clock: systemClock,
    log,
    github: octokitPort((id) => probot.auth(id) as never),
    jobTypes: options.jobTypes,
    runProcess,
    serverEnv: options.serverEnv ?? { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" },
    serverSecrets: options.serverSecrets ?? [],
    settings: {
      workerId: options.workerId ?? "test-worker",
      leaseSeconds: 60,
      heartbeatMs: options.heartbeatMs ?? 200,
      killGraceMs: options.killGraceMs ?? 300,
      workspaceRoot: TEST_WORKSPACE_ROOT,
      keepFailedWorkspaces: false,
      logCapBytes: options.logCapBytes ?? 1024 * 1024,
      cloneUrl: (job) => `${options.cloneBaseUrl}/${job.repositoryFullName}.git`,
      sandbox: options.sandbox ?? testSandbox,
      diskCheckMs: options.diskCheckMs ?? 500,
      apiUrl: options.githubUrl,
    },
    onJobChanged: async (job) => {
      changed.push(job);
    },
  };
  return { deps, changed };
}

/** Records a queued job on issue 1 of Codertocat/Hello-World and claims it as the harness's worker. */
export async function queueAndClaim(db: Database, deps: RunJobDeps, overrides: Parameters<typeof makeJob>[1] = {}) {
  await seedInstallation(db, 2);
  const job = await makeJob(db, {
    installationId: 2,
    repositoryId: 186853002,
    repositoryFullName: "Codertocat/Hello-World",
    targetNumber: 1,
    maxAttempts: 2,
    at: systemClock.now(),
    ...overrides,
  });
  await transitionJob(db, { jobId: job.id, from: "pending", to: "queued", at: systemClock.now(), actor: "test" });
  const claimed = await claimNextJob(db, {
    workerId: deps.settings.workerId,
    at: systemClock.now(),
    leaseSeconds: 60,
    installationLimit: 10,
  });
  if (!claimed) throw new Error("nothing claimed");
  return claimed;
}

/** Records queued jobs of these types on issues of Codertocat/Hello-World (installation 2); returns their ids. */
export async function queueJobs(db: Database, specs: ReadonlyArray<readonly [jobType: string, targetNumber: number]>) {
  const ids: number[] = [];
  for (const [jobType, targetNumber] of specs) {
    const job = await makeJob(db, {
      installationId: 2,
      repositoryId: 186853002,
      repositoryFullName: "Codertocat/Hello-World",
      targetNumber,
      jobType,
      at: systemClock.now(),
    });
    await transitionJob(db, { jobId: job.id, from: "pending", to: "queued", at: systemClock.now(), actor: "test" });
    ids.push(job.id);
  }
  return ids;
}

export function neverAborted() {
  return { shutdown: new AbortController().signal, cancelled: new AbortController().signal };
}

export { runJob };
