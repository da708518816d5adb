import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../clock.js";
import { githubApiBaseUrl, githubWebOrigin } from "../config/env.js";
import { serverSecrets } from "../config/server-secrets.js";
import { recoverWorkerJobs } from "../maintenance/sweeps/sweep-running-jobs.js";
import type { SandboxSupport } from "../worker/prepare-run.js";
import { runProcess } from "../worker/run-process.js";
import { hostSystemEntries } from "../worker/sandbox/host-system.js";
import { agentHostUser, probeSandbox } from "../worker/sandbox/probe-sandbox.js";
import { Worker } from "../worker/worker.js";
import { prepareWorkspaceRoot } from "../worker/workspace.js";
import type { ProcessParts } from "./github-services.js";
import { sweepDepsFrom } from "./start-maintenance.js";

/** What a started worker tells `/readyz`: which job types it runs, and why it refuses the others. */
export interface WorkerReadiness {
  sandbox: { available: boolean; reason: string | null; network: string | null; hostUid: number | null };
  runs: string[];
  refuses: Record<string, string>;
}

/**
 * Builds and starts the claim loop; returns its stop (graceful: hands unfinished jobs back) and its
 * readiness. Once `stopping` is aborted (a signal during start-up), it starts no claim loop.
 */
export async function startWorker(
  params: ProcessParts & { stopping?: AbortSignal },
): Promise<{ stop: () => Promise<void>; readiness: WorkerReadiness | null }> {
  const { env, log, database, jobTypes, workerId, gh, stopping } = params;
  if (!gh) {
    log.warn("no GitHub App configured: the worker claims nothing (it could not get tokens to clone)");
    return { stop: async () => {}, readiness: null };
  }
  if (env.WORKER_ID) {
    // A stable id: jobs this worker held before a crash are handed back now, not after their lease.
    const recovered = await recoverWorkerJobs(sweepDepsFrom(env, log, database, gh), workerId);
    if (recovered) log.info({ recovered, workerId }, "handed back the jobs of this worker's previous run");
  }
  const { workerDir, removed } = await prepareWorkspaceRoot({
    root: env.WORKSPACE_ROOT ?? join(tmpdir(), "labelrun-workspaces"),
    workerId,
  });
  if (removed.length) log.info({ removed }, "removed the workspaces of crashed runs");
  const hostUser = agentHostUser({ uid: env.SANDBOX_UID, gid: env.SANDBOX_GID });
  const sandbox = await probeSandbox({ workerDir, hostUser, system: hostSystemEntries() });
  const readiness = describeReadiness(jobTypes, sandbox, hostUser?.uid ?? null);
  for (const [name, reason] of Object.entries(readiness.refuses)) {
    log.error({ jobType: name }, `this worker will not run \`${name}\` jobs: ${reason}`);
  }
  for (const [name, type] of jobTypes.byName) {
    if (type.sandbox === "none") {
      log.warn(
        { jobType: name },
        `job type \`${name}\` runs WITHOUT a sandbox (sandbox: none): its agent can read everything this worker can`,
      );
    }
  }
  const cloneBase = env.CLONE_BASE_URL ?? githubWebOrigin(env);
  const worker = new Worker(
    {
      handle: database,
      db: database.db,
      clock: systemClock,
      log: log.child({ workerId }),
      github: gh.github,
      jobTypes,
      runProcess,
      serverEnv: process.env,
      serverSecrets: serverSecrets(env, process.env),
      settings: {
        workerId,
        leaseSeconds: env.LEASE_SECONDS,
        heartbeatMs: env.HEARTBEAT_SECONDS * 1000,
        killGraceMs: 10_000,
        workspaceRoot: workerDir,
        keepFailedWorkspaces: env.KEEP_FAILED_WORKSPACES,
        logCapBytes: 1024 * 1024,
        cloneUrl: (job) => `${cloneBase}/${job.repositoryFullName}.git`,
        sandbox,
        diskCheckMs: 2_000,
        apiUrl: githubApiBaseUrl(env),
      },
      onJobChanged: gh.services.onJobChanged,
    },
    {
      slots: env.WORKER_CONCURRENCY,
      installationLimit: env.INSTALLATION_CONCURRENCY,
      pollIntervalMs: env.POLL_INTERVAL_SECONDS * 1000,
      shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
      runsJobTypes: readiness.runs,
      refuses: readiness.refuses,
    },
  );
  if (stopping?.aborted) {
    log.info("stopping while starting: this worker claims nothing");
    return { stop: async () => {}, readiness };
  }
  await worker.start();
  return { stop: () => worker.stop(), readiness };
}

/** Which job types this worker can run: a sandboxed one only where its sandbox (and network) works. */
export function describeReadiness(
  jobTypes: ProcessParts["jobTypes"],
  support: Pick<SandboxSupport, "unavailable" | "networkUnavailable">,
  hostUid: number | null,
): WorkerReadiness {
  const runs: string[] = [];
  const refuses: Record<string, string> = {};
  for (const [name, type] of jobTypes.byName) {
    const reason =
      type.sandbox === "none"
        ? null
        : (support.unavailable ?? (type.network === "full" ? support.networkUnavailable : null));
    if (reason) refuses[name] = reason;
    else runs.push(name);
  }
  const { unavailable, networkUnavailable } = support;
  return {
    sandbox: { available: unavailable === null, reason: unavailable, network: networkUnavailable, hostUid },
    runs,
    refuses,
  };
}
