import type { Logger } from "pino";
import type { JobRow } from "../db/schema.js";
import { classifyGitHubError } from "../github/classify-error.js";
import { getJob } from "../jobs/find-jobs.js";
import { type RunEnd, settleRun } from "../jobs/settle-policy.js";
import { type JobPatch, type TransitionResult, transitionJob } from "../jobs/transition-job.js";
import type { RunJobDeps } from "./run-job.js";
import type { RunOutcome } from "./run-outcome.js";

/** How a GitHub error met before the agent started ends the run: deferred (rate limit, transient) or failed. */
export function githubOutcome(error: unknown, now: Date): RunOutcome {
  const kind = classifyGitHubError(error, now);
  switch (kind.kind) {
    case "rate_limited":
      return {
        to: "deferred",
        code: "RATE_LIMITED",
        message: kind.message,
        retryAfterMs: kind.retryAt.getTime() - now.getTime(),
      };
    case "transient":
      return { to: "deferred", code: "API_ERROR", message: kind.message, retryAfterMs: null };
    case "revoked":
      return { to: "failed", code: "ACCESS_REVOKED", message: kind.message };
    case "permanent":
      return { to: "failed", code: "API_ERROR", message: kind.message };
  }
}

/** The worker's view of a run's end, in the settle policy's words. */
export function runEnd(outcome: Exclude<RunOutcome, { to: null }>, now: Date): RunEnd {
  switch (outcome.to) {
    case "completed":
      return { kind: "completed" };
    case "failed":
      return { kind: "failed", code: outcome.code, message: outcome.message };
    case "awaiting_input":
      return { kind: "needs_input", question: outcome.question };
    case "deferred":
      if (outcome.code === "WORKER_LOST") return { kind: "shutdown", message: outcome.message };
      if (outcome.code === "RATE_LIMITED")
        return {
          kind: "rate_limited",
          message: outcome.message,
          retryAt: new Date(now.getTime() + (outcome.retryAfterMs ?? 60_000)),
        };
      return { kind: "retry", code: outcome.code, message: outcome.message, retryAfterMs: outcome.retryAfterMs };
  }
}

/**
 * Makes the one guarded transition that ends this run, as the settle policy
 * decides, and tells the comment. The pause flag the policy read is part of
 * the compare-and-set: a pause asked for meanwhile makes it decide again.
 */
export async function finish(deps: RunJobDeps, job: JobRow, log: Logger, outcome: RunOutcome): Promise<JobRow | null> {
  if (outcome.to === null) {
    log.info(outcome.message);
    const current = await getJob(deps.db, job.id);
    if (current) await deps.onJobChanged(current);
    return current ?? null;
  }
  const claim = { workerId: deps.settings.workerId, attempt: job.attempt };
  const resultPatch: JobPatch =
    outcome.to === "completed" || outcome.to === "failed" ? { ...(outcome.patch ?? {}) } : {};
  let result: TransitionResult | null = null;
  // The pause flag as last seen: the claimed row's first (no read before the end; the end goes
  // with the others of its turn), then, when a pause asked for meanwhile lost the
  // compare-and-set, the row the conflict showed.
  let current: JobRow = job;
  for (let round = 0; round < 3; round++) {
    const at = deps.clock.now();
    const settled = settleRun(
      { attempt: job.attempt, maxAttempts: job.maxAttempts, pauseRequested: current.pauseRequested },
      runEnd(outcome, at),
      at,
    );
    if (settled.to === "queued") throw new Error("a run never settles to queued");
    result = await transitionJob(deps.db, {
      jobId: job.id,
      from: "running",
      to: settled.to,
      at,
      actor: `worker:${deps.settings.workerId}`,
      code: settled.code,
      message: settled.message,
      patch: { ...resultPatch, ...settled.patch },
      claim,
      expect: { pauseRequested: current.pauseRequested },
    });
    // Lost only to a pause asked for meanwhile: decide again with it.
    if (result.ok || result.job?.status !== "running" || result.job.pauseRequested === current.pauseRequested) break;
    current = result.job;
  }
  if (!result?.ok) {
    log.info({ status: result?.job?.status }, "the job moved before this run could record its end; that change stands");
    if (result?.job) await deps.onJobChanged(result.job);
    return result?.job ?? null;
  }
  log.info({ status: result.job.status, code: result.job.failureCode }, "job run ended");
  await deps.onJobChanged(result.job);
  return result.job;
}
