import { findLeftCommands } from "../../github/commands/command-store.js";
import { findDirtyComments } from "../../github/status-comment/status-comment-store.js";
import { pruneJobHistory } from "../../jobs/prune-job-history.js";
import { findReactionsDue } from "../../jobs/reaction-marks.js";
import { rollUpJobDays } from "../../jobs/roll-up-job-days.js";
import { findUnprunedFinished } from "../../jobs/sweep-queries.js";
import type { SweepDeps } from "../sweep-deps.js";

/** A comment marked dirty this long ago was not written by its writer (failure, crash): write it now. */
const COMMENT_SETTLE_MS = 10_000;
/** Comment edits per tick at most: they spend the installation's rate limit. */
const COMMENTS_PER_TICK = 20;

/** Status comments behind their jobs (a failed or interrupted write) are written again. */
export async function sweepStatusComments(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findDirtyComments(
    deps.db,
    new Date(now.getTime() - COMMENT_SETTLE_MS),
    Math.min(COMMENTS_PER_TICK, deps.settings.batchSize),
  );
  let written = 0;
  for (const row of rows) {
    const outcome = await deps.syncComment(row);
    if (outcome === "written" || outcome === "unchanged") written++;
  }
  return written;
}

/** Reactions due this long ago were not carried out by the process that made the change (crash, dropped task). */
const REACTION_SETTLE_MS = 10_000;

/**
 * Reactions behind their jobs' changes (label, question, follow-up, blocked
 * jobs) are carried out now, and the comments of the jobs they touch follow.
 */
export async function sweepReactions(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const rows = await findReactionsDue(
    deps.db,
    new Date(now.getTime() - REACTION_SETTLE_MS),
    Math.min(COMMENTS_PER_TICK, deps.settings.batchSize),
  );
  for (const job of rows) await deps.onJobChanged(job);
  return rows.length;
}

/** Retention: logs and events of jobs finished before the retention period are deleted in batches. */
export async function sweepRetention(deps: SweepDeps): Promise<number> {
  const now = deps.clock.now();
  const ids = await findUnprunedFinished(deps.db, {
    now,
    finishedBefore: new Date(now.getTime() - deps.settings.retentionDays * 24 * 3600_000),
    limit: deps.settings.batchSize,
  });
  await pruneJobHistory(deps.db, ids, now);
  return ids.length;
}

/** A command recorded this long ago and still not carried out was left behind by a process that stopped. */
const COMMAND_SETTLE_MS = 30_000;

/**
 * Comment commands recorded but never carried out are carried out now; one
 * still claimed (`running`) is retaken only when its claim is ten minutes old
 * (runCommand decides, by compare-and-set).
 */
export async function sweepLeftCommands(deps: SweepDeps): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - COMMAND_SETTLE_MS);
  const rows = await findLeftCommands(deps.db, before, Math.min(COMMENTS_PER_TICK, deps.settings.batchSize));
  for (const row of rows) await deps.runCommand(row);
  return rows.length;
}

/** Days rolled up per tick at most: a history of years catches up in a few ticks. */
const ROLLUP_DAYS_PER_TICK = 30;

/** Rolls up the days that are over for the insight pages (`rollUpJobDays`). */
export async function sweepInsights(deps: SweepDeps): Promise<number> {
  return rollUpJobDays(deps.db, { now: deps.clock.now(), maxDays: ROLLUP_DAYS_PER_TICK });
}
