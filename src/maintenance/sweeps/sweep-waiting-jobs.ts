import { getInstallation } from "../../db/installations.js";
import { liftHold } from "../../jobs/holds.js";
import { quotaReached } from "../../jobs/quota.js";
import { settleDue, settleHoldExpired } from "../../jobs/settle-policy.js";
import type { FailureCode } from "../../jobs/states.js";
import { findDueDeferred, findLongHeld, findQuotaHeld, findStalePending } from "../../jobs/sweep-queries.js";
import { transitionJobs } from "../../jobs/transition-jobs.js";
import { MAINTENANCE_ACTOR, moveAndFollow, type SweepDeps } from "../sweep-deps.js";

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
  // The settle policy decides each job; jobs that move the same way move in one statement.
  const groups = new Map<
    string,
    { to: "queued" | "abandoned"; code: FailureCode | null; message: string | null; ids: number[] }
  >();
  for (const job of rows) {
    if (job.queuedAt === null) {
      await deps.dispatch(job.id);
      moved++;
      continue;
    }
    const settled = settleDue(job);
    if (settled.to !== "queued" && settled.to !== "abandoned") continue;
    const key = `${settled.to}\u0000${settled.code ?? ""}\u0000${settled.message ?? ""}`;
    const group = groups.get(key) ?? { to: settled.to, code: settled.code, message: settled.message, ids: [] };
    group.ids.push(job.id);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    const changed = await transitionJobs(deps.db, {
      ids: group.ids,
      from: "deferred",
      to: group.to,
      at: now,
      actor: MAINTENANCE_ACTOR,
      code: group.code,
      message: group.message,
    });
    moved += changed.length;
    for (const job of changed) await deps.onJobChanged(job);
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
    const settled = settleHoldExpired(job, deps.settings.maxHoldDays);
    const done = await moveAndFollow(deps, {
      jobId: job.id,
      from: job.status,
      to: "abandoned",
      at: now,
      code: settled.code,
      message: settled.message,
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

/**
 * Jobs held by a spent quota are let go when it no longer holds them — the month turned, or
 * the operator raised it — and dispatched; a job still over a quota keeps waiting.
 */
export async function sweepQuotas(deps: SweepDeps): Promise<number> {
  const held = await findQuotaHeld(deps.db, { now: deps.clock.now(), limit: deps.settings.batchSize });
  let moved = 0;
  for (const job of held) {
    const installation = await getInstallation(deps.db, job.installationId);
    const now = deps.clock.now();
    if (await quotaReached(deps.db, deps.quotas, job, installation?.accountLogin ?? null, now)) continue;
    const lifted = await liftHold(deps.db, {
      job,
      expect: "quota_reached",
      actor: MAINTENANCE_ACTOR,
      at: now,
      message: "the quota no longer holds it (a new month, or a higher quota)",
    });
    if (!lifted.ok) continue;
    moved++;
    if (lifted.job.status === "pending") await deps.dispatch(lifted.job.id);
    else await deps.onJobChanged(lifted.job);
  }
  return moved;
}
