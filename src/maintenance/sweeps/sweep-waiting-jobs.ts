import { findDueDeferred, findLongHeld, findStalePending } from "../../jobs/sweep-queries.js";
import { moveAndFollow, type SweepDeps } from "../sweep-deps.js";

const DAY_MS = 24 * 3600_000;

/**
 * Deferred work: due `deferred` jobs without a hold are queued again, or
 * abandoned when their attempts are spent. One that was never queued (its
 * dispatch met a rate limit) is dispatched again instead, so its config and
 * target are checked before it runs.
 */
export async function sweepDeferred(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findDueDeferred(deps.db, { now, limit: deps.settings.batchSize });
  let moved = 0;
  for (const job of rows) {
    if (job.queuedAt === null) {
      await deps.dispatch(job.id);
      moved++;
      continue;
    }
    const spent = job.attempt >= job.maxAttempts;
    const done = await moveAndFollow(deps, {
      jobId: job.id,
      from: "deferred",
      to: spent ? "abandoned" : "queued",
      at: now,
      code: spent ? "MAX_ATTEMPTS" : null,
      message: spent
        ? `gave up after ${job.attempt} attempts; the last one: ${job.failureMessage ?? job.failureCode ?? "deferred"}`
        : null,
    });
    if (done) moved++;
  }
  return moved;
}

/** Held jobs never move on time alone, but one held longer than MAX_HOLD_DAYS is abandoned. */
export async function sweepLongHeld(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findLongHeld(deps.db, {
    now,
    olderThan: new Date(now.getTime() - deps.settings.maxHoldDays * DAY_MS),
    limit: deps.settings.batchSize,
  });
  let moved = 0;
  for (const job of rows) {
    const done = await moveAndFollow(deps, {
      jobId: job.id,
      from: job.status,
      to: "abandoned",
      at: now,
      code: "MAX_ATTEMPTS",
      message: `waited more than ${deps.settings.maxHoldDays} days (${job.hold?.replace(/_/g, " ")}); abandoned`,
    });
    if (done) moved++;
  }
  return moved;
}

/** Stale pending: jobs whose dispatcher died (process restart) are dispatched again. */
export async function sweepStalePending(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findStalePending(deps.db, {
    now,
    olderThan: new Date(now.getTime() - deps.settings.stalePendingSeconds * 1000),
    limit: deps.settings.batchSize,
  });
  for (const job of rows) await deps.dispatch(job.id);
  return rows.length;
}
