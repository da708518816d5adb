import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../clock.js";
import { recoverWorkerJobs } from "../maintenance/sweeps/sweep-running-jobs.js";
import { githubCloneUrl } from "../worker/clone-repository.js";
import { runProcess } from "../worker/run-process.js";
import { Worker } from "../worker/worker.js";
import type { ProcessParts } from "./github-services.js";
import { sweepDepsFrom } from "./start-maintenance.js";

/** Builds and starts the claim loop; returns its stop (graceful: hands unfinished jobs back). */
export async function startWorker(params: ProcessParts): Promise<() => Promise<void>> {
  const { env, log, database, jobTypes, workerId, gh } = params;
  if (!gh) {
    log.warn("no GitHub App configured: the worker claims nothing (it could not get tokens to clone)");
    return async () => {};
  }
  if (env.WORKER_ID) {
    // A stable id: jobs this worker held before a crash are handed back now, not after their lease.
    const recovered = await recoverWorkerJobs(sweepDepsFrom(env, log, database, gh), workerId);
    if (recovered) log.info({ recovered, workerId }, "handed back the jobs of this worker's previous run");
  }
  const cloneBase = env.CLONE_BASE_URL ?? `https://${env.GHE_HOST ?? "github.com"}`;
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
      settings: {
        workerId,
        leaseSeconds: env.LEASE_SECONDS,
        heartbeatMs: env.HEARTBEAT_SECONDS * 1000,
        killGraceMs: 10_000,
        workspaceRoot: env.WORKSPACE_ROOT ?? join(tmpdir(), "labelrun-workspaces"),
        keepFailedWorkspaces: env.KEEP_FAILED_WORKSPACES,
        logCapBytes: 1024 * 1024,
        cloneUrl: (job, token) =>
          cloneBase.startsWith("https://")
            ? githubCloneUrl(new URL(cloneBase).host, job.repositoryFullName, token)
            : `${cloneBase}/${job.repositoryFullName}.git`,
      },
      onJobChanged: gh.services.onJobChanged,
    },
    {
      slots: env.WORKER_CONCURRENCY,
      installationLimit: env.INSTALLATION_CONCURRENCY,
      pollIntervalMs: env.POLL_INTERVAL_SECONDS * 1000,
      shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
    },
  );
  await worker.start();
  return () => worker.stop();
}
