import type { Logger } from "pino";
import type { JobRow } from "../db/schema.js";
import { classifyGitHubError } from "../github/classify-error.js";
import { backoffDelayMs } from "../jobs/backoff.js";
import { getJob } from "../jobs/find-jobs.js";
import type { FailureCode } from "../jobs/states.js";
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

/** Makes the one guarded transition that ends this run, and tells the comment. */
export async function finish(deps: RunJobDeps, job: JobRow, log: Logger, outcome: RunOutcome): Promise<JobRow | null> {
  if (outcome.to === null) {
    log.info(outcome.message);
    const current = await getJob(deps.db, job.id);
    if (current) await deps.onJobChanged(current);
    return current ?? null;
  }
  const at = deps.clock.now();
  const claim = { workerId: deps.settings.workerId, attempt: job.attempt };
  // Asked to pause during this run: a run that does not complete leaves the job held.
  const pauseRequested = (await getJob(deps.db, job.id))?.pauseRequested ?? false;
  let to: "completed" | "failed" | "deferred" | "abandoned" = outcome.to === "awaiting_input" ? "deferred" : outcome.to;
  let code: FailureCode | null = outcome.to === "completed" || outcome.to === "awaiting_input" ? null : outcome.code;
  let message =
    outcome.to === "completed"
      ? null
      : outcome.to === "awaiting_input"
        ? "waits for an answer to its question"
        : outcome.message;
  const patch: JobPatch = outcome.to === "completed" || outcome.to === "failed" ? { ...(outcome.patch ?? {}) } : {};
  if (outcome.to === "failed" && outcome.code === "ACCESS_REVOKED") {
    to = "abandoned";
  }
  if (outcome.to === "awaiting_input") {
    // Waiting for a person spends no attempt.
    Object.assign(patch, {
      hold: "awaiting_input",
      question: outcome.question,
      questionAskedAt: at,
      questionCommentId: null,
      attempt: job.attempt - 1,
      runAfter: null,
    });
  } else if (outcome.to === "deferred" && pauseRequested) {
    Object.assign(patch, { hold: "paused", pauseRequested: false, runAfter: null });
    message = `${outcome.message}; held because a pause was asked for`;
  } else if (outcome.to === "deferred") {
    if (job.attempt >= job.maxAttempts && outcome.code !== "WORKER_LOST") {
      to = "abandoned";
      code = "MAX_ATTEMPTS";
      message = `gave up after ${job.attempt} attempts; the last one: ${outcome.message}`;
    } else {
      const delay = outcome.retryAfterMs ?? backoffDelayMs(job.attempt);
      patch.runAfter = new Date(at.getTime() + Math.max(0, delay));
    }
  }
  const result: TransitionResult = await transitionJob(deps.db, {
    jobId: job.id,
    from: "running",
    to,
    at,
    actor: `worker:${deps.settings.workerId}`,
    code,
    message,
    patch,
    claim,
  });
  if (!result.ok) {
    log.info({ status: result.job?.status }, "the job moved before this run could record its end; that change stands");
    if (result.job) await deps.onJobChanged(result.job);
    return result.job;
  }
  log.info({ status: to, code }, "job run ended");
  await deps.onJobChanged(result.job);
  return result.job;
}
