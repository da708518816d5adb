import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { systemClock } from "../clock.js";
import type { Env } from "../config/env.js";
import type { JobTypes } from "../config/job-types.js";
import type { DatabaseHandle } from "../db/client.js";
import { afterJobChange } from "../github/after-job-change.js";
import { octokitPort } from "../github/octokit-port.js";
import { syncStatusComment } from "../github/status-comment/sync-status-comment.js";
import { githubCloneUrl } from "../worker/clone-repository.js";
import { runProcess } from "../worker/run-process.js";
import { Worker } from "../worker/worker.js";
import { makeProbot } from "./make-probot.js";

/** Builds and starts the claim loop; returns its stop (graceful: hands unfinished jobs back). */
export async function startWorker(params: {
  env: Env;
  log: Logger;
  database: DatabaseHandle;
  jobTypes: JobTypes;
  workerId: string;
}): Promise<() => Promise<void>> {
  const { env, log, database, jobTypes, workerId } = params;
  if (!env.github) {
    log.warn("no GitHub App configured: the worker claims nothing (it could not get tokens to clone)");
    return async () => {};
  }
  const probot = makeProbot(env.github, log);
  const github = octokitPort((id) => probot.auth(id));
  const syncComment = (target: Parameters<typeof syncStatusComment>[1]) =>
    syncStatusComment(
      { db: database.db, github, clock: systemClock, log, writerId: workerId, publicUrl: env.PUBLIC_URL },
      target,
    );
  const cloneBase = env.CLONE_BASE_URL ?? `https://${env.GHE_HOST ?? "github.com"}`;
  const worker = new Worker(
    {
      handle: database,
      db: database.db,
      clock: systemClock,
      log: log.child({ workerId }),
      github,
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
      onJobChanged: afterJobChange({ db: database.db, github, log, syncComment }),
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
