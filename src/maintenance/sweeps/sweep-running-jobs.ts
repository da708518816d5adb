import type { JobRow } from "../../db/schema.js";
import { settleRun, settleTimeout } from "../../jobs/settle-policy.js";
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
    const settled = settleTimeout(job);
    const ended = await moveAndFollow(deps, {
      jobId: job.id,
      from: "running",
      to: "failed",
      at: now,
      code: settled.code,
      message: settled.message,
      patch: settled.patch,
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

/** `running` → as the settle policy decides for a vanished worker (deferred WORKER_LOST, held, or abandoned). */
async function handBack(deps: SweepDeps, job: JobRow, why: string): Promise<boolean> {
  const now = deps.clock.now();
  const settled = settleRun(job, { kind: "worker_lost", message: `${why}; the job will run again` }, now);
  if (settled.to === "queued") return false;
  return moveAndFollow(deps, {
    jobId: job.id,
    from: "running",
    to: settled.to,
    at: now,
    code: settled.code,
    message:
      settled.to === "abandoned"
        ? `gave up after ${job.attempt} attempts: ${why} during the last one`
        : settled.message,
    patch: settled.patch,
    claim: { workerId: job.workerId ?? "", attempt: job.attempt },
    expect: { pauseRequested: job.pauseRequested },
  });
}
