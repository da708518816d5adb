import type { JobRow } from "../../db/schema.js";
import { findExpiredLeases, findRunningOfWorker, findRunningPastDeadline } from "../../jobs/sweep-queries.js";
import { moveAndFollow, type SweepDeps } from "../sweep-deps.js";

/**
 * Timeouts: `running` jobs past their time limit plus a grace are failed with
 * TIMEOUT. The change is guarded by the run's claim, so a job that was
 * re-claimed meanwhile is left alone; the worker still running it hears the
 * NOTIFY (or its next heartbeat) and stops the agent.
 */
export async function sweepTimeouts(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findRunningPastDeadline(deps.db, {
    now,
    graceSeconds: deps.settings.timeoutGraceSeconds,
    limit: deps.settings.batchSize,
  });
  let moved = 0;
  for (const job of rows) {
    const ended = await moveAndFollow(deps, {
      jobId: job.id,
      from: "running",
      to: "failed",
      at: now,
      code: "TIMEOUT",
      message: `ran past its time limit of ${Math.round(job.timeoutSeconds / 60)} minutes; the maintenance sweep stopped it`,
      claim: { workerId: job.workerId ?? "", attempt: job.attempt },
    });
    if (ended) moved++;
  }
  return moved;
}

/**
 * Lost workers: `running` jobs whose lease expired (the worker died or lost
 * the database) go back to `deferred` with WORKER_LOST for a prompt retry, or
 * are abandoned when their attempts are spent.
 */
export async function sweepLostWorkers(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findExpiredLeases(deps.db, { now, limit: deps.settings.batchSize });
  let moved = 0;
  for (const job of rows) {
    const why = `worker ${job.workerId} stopped answering (no heartbeat since ${job.heartbeatAt?.toISOString() ?? "the claim"})`;
    if (await handBack(deps, job, why)) moved++;
  }
  return moved;
}

/**
 * Start-up recovery: a worker that restarts under the same stable WORKER_ID
 * hands back the jobs its previous life held at once, instead of waiting for
 * their leases to expire.
 */
export async function recoverWorkerJobs(deps: SweepDeps, workerId: string): Promise<number> {
  const rows = await findRunningOfWorker(deps.db, workerId);
  let moved = 0;
  for (const job of rows) {
    if (await handBack(deps, job, `worker ${workerId} restarted while the job ran`)) moved++;
  }
  return moved;
}

/** `running` → `deferred` WORKER_LOST (run again now), or `abandoned` when the attempts are spent. */
async function handBack(deps: SweepDeps, job: JobRow, why: string): Promise<boolean> {
  const now = deps.clock.now();
  const spent = job.attempt >= job.maxAttempts;
  return moveAndFollow(deps, {
    jobId: job.id,
    from: "running",
    to: spent ? "abandoned" : "deferred",
    at: now,
    code: spent ? "MAX_ATTEMPTS" : "WORKER_LOST",
    message: spent
      ? `gave up after ${job.attempt} attempts: ${why} during the last one`
      : `${why}; the job will run again`,
    patch: spent ? undefined : { runAfter: now },
    claim: { workerId: job.workerId ?? "", attempt: job.attempt },
  });
}
