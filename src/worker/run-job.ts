import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypeConfig, JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { classifyGitHubError } from "../github/classify-error.js";
import { type GitHubPort, splitFullName, type WorkerGitHubPort } from "../github/port.js";
import { backoffDelayMs } from "../jobs/backoff.js";
import { getJob } from "../jobs/find-jobs.js";
import { renewLease } from "../jobs/renew-lease.js";
import type { FailureCode } from "../jobs/states.js";
import { type JobPatch, type TransitionResult, transitionJob } from "../jobs/transition-job.js";
import { metrics } from "../metrics.js";
import { buildAgentEnv } from "./agent-env.js";
import { parseAgentResult, parseProgressLine } from "./agent-result.js";
import { cloneRepository, GitCloneError } from "./clone-repository.js";
import { JobLogWriter } from "./job-log-writer.js";
import { decideRunOutcome, type RunOutcome } from "./run-outcome.js";
import type { ProcessRunner } from "./run-process.js";
import { secretMasker } from "./secret-masker.js";

/** The least time between two status comment edits for progress alone. */
const PROGRESS_EDIT_MS = 30_000;

export interface RunJobSettings {
  workerId: string;
  leaseSeconds: number;
  heartbeatMs: number;
  killGraceMs: number;
  workspaceRoot: string;
  keepFailedWorkspaces: boolean;
  logCapBytes: number;
  /** The clone URL for a job (injectable: tests clone from a local bare repository). */
  cloneUrl(job: JobRow, token: string): string;
}

export interface RunJobDeps {
  db: Database;
  clock: Clock;
  log: Logger;
  github: GitHubPort & WorkerGitHubPort;
  jobTypes: JobTypes;
  runProcess: ProcessRunner;
  /** The server's environment, from which only allowed names reach the agent. */
  serverEnv: NodeJS.ProcessEnv;
  settings: RunJobSettings;
  /** After the job reached its end here: status comment, trigger label. */
  onJobChanged(job: JobRow): Promise<void>;
}

export interface RunJobSignals {
  /** Set when the worker shuts down: the agent is stopped and the job handed back. */
  shutdown: AbortSignal;
  /** Set when the job was cancelled elsewhere (NOTIFY): the agent is stopped. */
  cancelled: AbortSignal;
}

/**
 * Runs one claimed job to its end on this worker: a fresh workspace, a token
 * for this repository only, a shallow clone, the agent with an allow-listed
 * environment, its log and progress, then one guarded transition.
 */
export async function runJob(deps: RunJobDeps, job: JobRow, signals: RunJobSignals): Promise<JobRow | null> {
  const log = deps.log.child({ jobId: job.id, attempt: job.attempt, deliveryId: job.deliveryId });
  const claim = { workerId: deps.settings.workerId, attempt: job.attempt };
  const jobType = deps.jobTypes.byName.get(job.jobType);
  if (!jobType) {
    return finish(deps, job, log, {
      to: "failed",
      code: "VALIDATION_ERROR",
      message: `the job type \`${job.jobType}\` is not configured on this worker`,
    });
  }
  // The status comment shows the run has started (a state a maintainer can see). The agent does
  // not wait for it: comment writes are paced by GitHub (seconds apart).
  // It is awaited before this run returns, so a graceful stop still writes it.
  const startNotice = deps
    .onJobChanged(job)
    .catch((error: unknown) => log.warn({ err: error }, "could not update the status comment"));
  await mkdir(deps.settings.workspaceRoot, { recursive: true });
  const workspace = await mkdtemp(join(deps.settings.workspaceRoot, `job-${job.id}-`));
  let outcome: RunOutcome | null = null;
  try {
    outcome = await prepareAndRun(deps, job, jobType, workspace, signals, log, claim);
    return await finish(deps, job, log, outcome);
  } finally {
    const keep = deps.settings.keepFailedWorkspaces && outcome?.to !== "completed";
    if (keep) log.info({ workspace }, "kept the workspace of a job that did not complete (KEEP_FAILED_WORKSPACES)");
    else await rm(workspace, { recursive: true, force: true });
    await startNotice;
  }
}

async function prepareAndRun(
  deps: RunJobDeps,
  job: JobRow,
  jobType: JobTypeConfig,
  workspace: string,
  signals: RunJobSignals,
  log: Logger,
  claim: { workerId: string; attempt: number },
): Promise<RunOutcome> {
  const { owner, repo } = splitFullName(job.repositoryFullName);
  const ref = { installationId: job.installationId, owner, repo, number: job.targetNumber };
  let token: string;
  let details: Awaited<ReturnType<WorkerGitHubPort["getTargetDetails"]>>;
  try {
    token = (await deps.github.createScopedToken(job.installationId, [job.repositoryId])).token;
    details = await deps.github.getTargetDetails(ref, job.targetKind);
  } catch (error) {
    return githubOutcome(error, deps.clock.now());
  }
  const mask = secretMasker([token, ...jobType.env.map((name) => deps.serverEnv[name])]);
  const checkout = join(workspace, "repo");
  if (jobType.clone) {
    try {
      await cloneRepository({
        url: deps.settings.cloneUrl(job, token),
        dir: checkout,
        pullNumber: job.targetKind === "pull_request" ? job.targetNumber : undefined,
        mask,
      });
    } catch (error) {
      if (!(error instanceof GitCloneError)) throw error;
      return {
        to: "failed",
        code: "GIT_CLONE_FAILED",
        message: `git could not clone ${job.repositoryFullName}: ${error.message}`,
      };
    }
  } else {
    await mkdir(checkout);
  }

  const contextFile = join(workspace, "context.json");
  const resultFile = join(workspace, "result.json");
  await writeFile(contextFile, JSON.stringify({ job: contextJob(job), target: details }, null, 2));
  const env = buildAgentEnv({
    serverEnv: deps.serverEnv,
    declared: jobType.env,
    token,
    labelrun: {
      JOB_ID: String(job.id),
      JOB_TYPE: job.jobType,
      ATTEMPT: String(job.attempt),
      REPOSITORY: job.repositoryFullName,
      NUMBER: String(job.targetNumber),
      KIND: job.targetKind,
      CONTEXT: contextFile,
      RESULT: resultFile,
      WORKSPACE: checkout,
    },
  });

  const logs = new JobLogWriter({
    db: deps.db,
    jobId: job.id,
    attempt: job.attempt,
    mask,
    capBytes: deps.settings.logCapBytes,
  });
  const lastLines: string[] = [];
  let progress: { percent: number; message: string | null } | undefined;
  let lostClaim = false;
  const stop = new AbortController();
  const onStop = () => stop.abort();
  signals.shutdown.addEventListener("abort", onStop, { once: true });
  signals.cancelled.addEventListener("abort", () => {
    lostClaim = true;
    stop.abort();
  });
  if (signals.shutdown.aborted) stop.abort();

  let shownProgress: typeof progress;
  let shownAt = 0;
  const heartbeat = setInterval(() => {
    const now = deps.clock.now();
    renewLease(deps.db, { jobId: job.id, ...claim, at: now, leaseSeconds: deps.settings.leaseSeconds, progress })
      .then(async (held) => {
        if (!held) {
          lostClaim = true;
          stop.abort();
          return;
        }
        // Progress reaches the status comment at most once per PROGRESS_EDIT_MS (the rate limit is shared).
        if (progress && progress !== shownProgress && now.getTime() - shownAt >= PROGRESS_EDIT_MS) {
          shownProgress = progress;
          shownAt = now.getTime();
          const current = await getJob(deps.db, job.id);
          if (current?.status === "running") await deps.onJobChanged(current);
        }
      })
      .catch((error: unknown) => log.warn({ err: error }, "heartbeat failed; will try again"));
  }, deps.settings.heartbeatMs);

  const timeoutMs = jobType.timeout_minutes * 60_000;
  const processOutcome = await deps.runProcess({
    argv: jobType.command,
    cwd: checkout,
    env,
    timeoutMs,
    killGraceMs: deps.settings.killGraceMs,
    signal: stop.signal,
    onLine(stream, line) {
      const parsed = stream === "stdout" ? parseProgressLine(line) : null;
      if (parsed) progress = parsed;
      logs.write({ stream, line, at: deps.clock.now() });
      lastLines.push(mask(line));
      if (lastLines.length > 10) lastLines.shift();
    },
  });
  clearInterval(heartbeat);
  metrics.agentExits.inc({
    code: processOutcome.stoppedBy ?? String(processOutcome.exitCode ?? processOutcome.signal ?? "spawn_error"),
  });
  signals.shutdown.removeEventListener("abort", onStop);
  if (processOutcome.stoppedBy === "timeout") {
    logs.write({
      stream: "system",
      line: `[labelrun: stopped after ${jobType.timeout_minutes} minutes]`,
      at: deps.clock.now(),
    });
  }
  await logs.close();
  log.info(
    { exitCode: processOutcome.exitCode, signal: processOutcome.signal, stoppedBy: processOutcome.stoppedBy },
    "agent exited",
  );

  const resultText = await readFile(resultFile, "utf8").catch(() => null);
  return decideRunOutcome({
    process: processOutcome,
    result: parseAgentResult(resultText === null ? null : mask(resultText)),
    timeoutMinutes: jobType.timeout_minutes,
    lostClaim,
    shuttingDown: signals.shutdown.aborted,
    lastLines,
  });
}

function githubOutcome(error: unknown, now: Date): RunOutcome {
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
async function finish(deps: RunJobDeps, job: JobRow, log: Logger, outcome: RunOutcome): Promise<JobRow | null> {
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

function contextJob(job: JobRow) {
  return {
    id: job.id,
    type: job.jobType,
    attempt: job.attempt,
    max_attempts: job.maxAttempts,
    retry_of: job.retryOf,
    repository: job.repositoryFullName,
    number: job.targetNumber,
    kind: job.targetKind,
    trigger_label: job.triggerLabel,
    triggered_by: job.triggeredBy,
    // After a needs_input run: what the agent asked and what people answered since.
    question: job.question,
    answers: job.answers ?? [],
  };
}
