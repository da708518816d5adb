import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypeConfig, JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { type GitHubPort, splitFullName, type TargetDetails, type WorkerGitHubPort } from "../github/port.js";
import { recordProgress, renewLease } from "../jobs/renew-lease.js";
import { metrics } from "../metrics.js";
import { parseAgentResult, parseCostLine, parseProgressLine } from "./agent-result.js";
import { cleanAgentText } from "./agent-text.js";
import { AgentToken } from "./agent-token.js";
import { cloneRepository, GitCloneError, restoreFromBase } from "./clone-repository.js";
import { diskUsage } from "./disk-usage.js";
import { finish, githubOutcome } from "./finish-run.js";
import { JobLogWriter } from "./job-log-writer.js";
import { agentCommand, describeLimits, runLimits, type SandboxSupport, writeContext } from "./prepare-run.js";
import { readResultFile } from "./read-result-file.js";
import { earlierRounds, reviewContext } from "./review-context.js";
import { decideRunOutcome, type RunOutcome } from "./run-outcome.js";
import type { ProcessOutcome, ProcessRunner } from "./run-process.js";
import { type SecretMask, secretMasker } from "./secret-masker.js";
import { createRunFolders, handOverWorkspace, type RunFolders } from "./workspace.js";

/** The least time between two status comment edits for progress alone. */
const PROGRESS_EDIT_MS = 30_000;

export interface RunJobSettings {
  workerId: string;
  leaseSeconds: number;
  heartbeatMs: number;
  killGraceMs: number;
  /** This worker's private folder; each run gets a fresh folder below it. */
  workspaceRoot: string;
  keepFailedWorkspaces: boolean;
  logCapBytes: number;
  /** The clone URL for a job, without credentials (injectable: tests clone from a local repository). */
  cloneUrl(job: JobRow): string;
  /** How sandboxing works on this machine. */
  sandbox: SandboxSupport;
  /** How often the workspace's size is checked against its limit. */
  diskCheckMs: number;
  /** GitHub's REST API base URL, told to the agent (`LABELRUN_API_URL`) for opening pull requests. */
  apiUrl?: string;
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
  /** Every secret value the server knows (`serverSecrets`): masked in everything an agent writes. */
  serverSecrets: readonly string[];
  settings: RunJobSettings;
  /** After the job reached its end here: status comment, trigger label. */
  onJobChanged(job: JobRow): Promise<void>;
}

export interface RunJobSignals {
  /** Set when the worker shuts down: the agent is stopped and the job handed back. */
  shutdown: AbortSignal;
  /** Set when the job was cancelled elsewhere (NOTIFY): the agent is stopped. */
  cancelled: AbortSignal;
  /**
   * Called once the run's outcome is known, before its end is recorded, the comment told
   * and the workspace removed: the worker's slot is free for the next agent.
   */
  onRunOver?: () => void;
}

/** How often a sandbox that bubblewrap could not set up is tried before the run is handed back. */
const SANDBOX_SETUP_TRIES = 3;

/**
 * A sandbox that never started its command: bubblewrap exits 1 having said only its own
 * `bwrap: …` error. Anything the agent printed means the agent ran.
 */
function sandboxSetupFailure(outcome: ProcessOutcome, firstLines: readonly string[]): string | null {
  if (outcome.spawnError) return `the sandbox could not be set up (${outcome.spawnError.message})`;
  if (outcome.exitCode !== 1 || !firstLines.length || !firstLines.every((line) => line.startsWith("bwrap: ")))
    return null;
  return `the sandbox could not be set up (${cleanAgentText(firstLines[0] ?? "", QUOTED_LINE_CHARS)})`;
}

/** The most of one line of the log quoted in a failure message. */
const QUOTED_LINE_CHARS = 300;

/**
 * Runs one claimed job to its end on this worker: fresh folders, a token for
 * this repository and the job type's permissions only, a shallow clone, the
 * agent in its sandbox with an allow-listed environment, its log and
 * progress, then one guarded transition. Every token of the run is revoked and
 * its folders removed, however it ends.
 */
export async function runJob(deps: RunJobDeps, job: JobRow, signals: RunJobSignals): Promise<JobRow | null> {
  const log = deps.log.child({ jobId: job.id, attempt: job.attempt, deliveryId: job.deliveryId });
  const claim = { workerId: deps.settings.workerId, attempt: job.attempt };
  const jobType = deps.jobTypes.byName.get(job.jobType);
  if (!jobType) {
    signals.onRunOver?.();
    return finish(deps, job, log, {
      to: "failed",
      code: "VALIDATION_ERROR",
      message: `the job type \`${job.jobType}\` is not configured on this worker`,
    });
  }
  // The status comment shows the run has started (a state a maintainer can see) once it has run
  // for RUNNING_EDIT_DELAY_MS: a run that ends sooner gets one edit, its outcome (one rate-limited
  // request less; the claim's mark stays for the sweep either way). The agent does not wait for
  // it: comment writes are paced by GitHub (seconds apart). It is awaited before this run
  // returns, so a graceful stop still writes it.
  let startNotice: Promise<void> | undefined;
  const startTimer = deps.clock.setTimeout(
    () => {
      startNotice = deps
        .onJobChanged(job)
        .catch((error: unknown) => log.warn({ err: error }, "could not update the status comment"));
    },
    RUNNING_EDIT_DELAY_MS,
    { background: true },
  );
  await mkdir(deps.settings.workspaceRoot, { recursive: true, mode: 0o700 });
  const folders = await createRunFolders(deps.settings.workspaceRoot, job.id);
  const mask = secretMasker([...deps.serverSecrets, ...jobType.env.map((name) => deps.serverEnv[name])]);
  const token = new AgentToken(
    deps,
    { installationId: job.installationId, repositoryIds: [job.repositoryId], permissions: jobType.permissions },
    join(folders.runDir, "token"),
    (issued) => mask.add(issued),
  );
  let outcome: RunOutcome | null = null;
  try {
    outcome = await prepareAndRun(deps, { job, jobType, folders, token, mask, signals, log, claim });
    signals.onRunOver?.();
    return await finish(deps, job, log, outcome);
  } finally {
    await token.revokeAll();
    const keep = deps.settings.keepFailedWorkspaces && outcome?.to !== "completed";
    if (keep)
      log.info(
        { workspace: folders.dir },
        "kept the workspace of a job that did not complete (KEEP_FAILED_WORKSPACES)",
      );
    else await rm(folders.dir, { recursive: true, force: true });
    startTimer.cancel();
    await startNotice;
  }
}

/** How long a run goes before its comment is edited to say it is running. */
export const RUNNING_EDIT_DELAY_MS = 5_000;

/** One run as `runJob` set it up: the job, its type, its folders, token and masker. */
interface Run {
  job: JobRow;
  jobType: JobTypeConfig;
  folders: RunFolders;
  token: AgentToken;
  mask: SecretMask;
  signals: RunJobSignals;
  log: Logger;
  claim: { workerId: string; attempt: number };
}

async function prepareAndRun(deps: RunJobDeps, run: Run): Promise<RunOutcome> {
  const { job, jobType, folders, token, mask, signals, log, claim } = run;
  const { owner, repo } = splitFullName(job.repositoryFullName);
  const ref = { installationId: job.installationId, owner, repo, number: job.targetNumber };
  let details: TargetDetails;
  let review: ReturnType<typeof reviewContext> | undefined;
  try {
    await token.issue();
    details = freshSnapshot(job, deps.clock.now()) ?? (await deps.github.getTargetDetails(ref, job.targetKind));
    if (job.review) {
      const earlier = await earlierRounds(deps.db, job);
      // The conversation since the last round began (the first round: since the pull request was opened).
      const since = earlier.at(-1)?.createdAt ?? null;
      const feedback = await deps.github.getReviewFeedback(ref, job.review, since);
      review = reviewContext({ job, feedback, earlier });
    }
  } catch (error) {
    return githubOutcome(error, deps.clock.now());
  }
  const checkout = join(folders.workspace, "repo");
  if (jobType.clone) {
    try {
      const cloneUrl = deps.settings.cloneUrl(job);
      const pullNumber = job.targetKind === "pull_request" ? job.targetNumber : undefined;
      await cloneRepository({ url: cloneUrl, token: token.token, dir: checkout, pullNumber, mask });
      if (pullNumber !== undefined && details.base) {
        await restoreFromBase({
          dir: checkout,
          baseRef: details.base.ref,
          paths: jobType.restore_from_base,
          token: token.token,
          mask,
        });
      }
    } catch (error) {
      if (!(error instanceof GitCloneError)) throw error;
      return {
        to: "failed",
        code: "GIT_CLONE_FAILED",
        message: `git could not clone ${job.repositoryFullName}: ${error.message}`,
      };
    }
  }
  await writeContext(folders, job, details, review);
  const sandboxed = jobType.sandbox === "bubblewrap";
  if (sandboxed) await handOverWorkspace(folders.workspace, deps.settings.sandbox.hostUser);
  const command = agentCommand({
    job,
    jobType,
    folders,
    sandbox: deps.settings.sandbox,
    serverEnv: deps.serverEnv,
    token: token.token,
    apiUrl: deps.settings.apiUrl ?? "https://api.github.com",
  });

  const logs = new JobLogWriter({
    db: deps.db,
    jobId: job.id,
    attempt: job.attempt,
    mask,
    capBytes: deps.settings.logCapBytes,
    onError: (error) => log.warn({ err: error }, "could not store part of the agent's log"),
  });
  const lastLines: string[] = [];
  let progress: { percent: number; message: string | null } | undefined;
  let lostClaim = false;
  let overLimit: string | null = null;
  // What the agent reported spending (`::cost::`), and whether that passed the job type's cap.
  const spend: { reported: number | null; over: { costUsd: number; capUsd: number } | null } = {
    reported: null,
    over: null,
  };
  const stop = new AbortController();
  const onStop = () => stop.abort();
  signals.shutdown.addEventListener("abort", onStop, { once: true });
  signals.cancelled.addEventListener("abort", () => {
    lostClaim = true;
    stop.abort();
  });
  if (signals.shutdown.aborted) stop.abort();

  let shownProgress: typeof progress;
  // The first progress edit is the running edit: not before RUNNING_EDIT_DELAY_MS into the run.
  let shownAt = deps.clock.now().getTime() - PROGRESS_EDIT_MS + RUNNING_EDIT_DELAY_MS;
  const heartbeat = deps.clock.setInterval(() => {
    const now = deps.clock.now();
    renewLease(deps.db, { jobId: job.id, ...claim, at: now, leaseSeconds: deps.settings.leaseSeconds, progress })
      .then(async (held) => {
        if (!held) {
          lostClaim = true;
          stop.abort();
          return;
        }
        await token.renewIfDue();
        // Progress reaches the status comment at most once per PROGRESS_EDIT_MS (the rate limit is shared).
        if (progress && progress !== shownProgress && now.getTime() - shownAt >= PROGRESS_EDIT_MS) {
          shownProgress = progress;
          shownAt = now.getTime();
          const current = await recordProgress(deps.db, { jobId: job.id, ...claim, at: now, ...progress });
          if (current) await deps.onJobChanged(current);
        }
      })
      .catch((error: unknown) => log.warn({ err: error }, "heartbeat failed; will try again"));
  }, deps.settings.heartbeatMs);
  const limits = runLimits(jobType);
  let measuring = false;
  const diskWatch = deps.clock.setInterval(() => {
    if (measuring || overLimit) return;
    measuring = true;
    void diskUsage(folders.workspace)
      .then((bytes) => {
        if (bytes !== null && bytes > limits.workspaceBytes) {
          overLimit = `its workspace grew past the limit of ${Math.round(limits.workspaceBytes / 1024 / 1024)} MiB`;
          stop.abort();
        }
      })
      .finally(() => {
        measuring = false;
      });
  }, deps.settings.diskCheckMs);

  const timeoutMs = jobType.timeout_minutes * 60_000;
  let processOutcome: ProcessOutcome;
  let setupFailure: string | null = null;
  // bubblewrap can fail to set a sandbox up now and then under load (a netlink reply it did not
  // expect): that is the machine's hiccup, not the agent's doing, so the sandbox is tried again.
  for (let tries = 1; ; tries++) {
    // bubblewrap's own complaints come before the agent prints anything; they are held back
    // until the agent speaks, so a sandbox that never started leaves nothing in the job's log.
    const held: Array<{ stream: "stdout" | "stderr"; line: string }> = [];
    let agentSpoke = !command.supervised;
    const keep = (stream: "stdout" | "stderr", line: string) => {
      const parsed = stream === "stdout" ? parseProgressLine(line) : null;
      if (parsed) progress = parsed;
      const cost = stream === "stdout" ? parseCostLine(line) : null;
      if (cost !== null) {
        spend.reported = cost;
        const cap = jobType.max_cost_usd;
        if (cap !== undefined && cost > cap && !spend.over) {
          // Stops the process group, as for a cancel; the outcome says why.
          spend.over = { costUsd: cost, capUsd: cap };
          stop.abort();
        }
      }
      logs.write({ stream, line, at: deps.clock.now() });
      lastLines.push(cleanAgentText(line, QUOTED_LINE_CHARS));
      if (lastLines.length > 10) lastLines.shift();
    };
    processOutcome = await deps.runProcess({
      ...command,
      timeoutMs,
      killGraceMs: deps.settings.killGraceMs,
      signal: stop.signal,
      onLine(stream, raw) {
        const line = mask(raw);
        if (!agentSpoke && raw.startsWith("bwrap: ") && held.length < 3) {
          held.push({ stream, line });
          return;
        }
        agentSpoke = true;
        for (const early of held.splice(0)) keep(early.stream, early.line);
        keep(stream, line);
      },
    });
    setupFailure =
      command.supervised && !agentSpoke
        ? sandboxSetupFailure(
            processOutcome,
            held.map((h) => h.line),
          )
        : null;
    if (!setupFailure || stop.signal.aborted || tries >= SANDBOX_SETUP_TRIES) {
      for (const early of held.splice(0)) keep(early.stream, early.line);
      break;
    }
    log.warn({ tries }, `${setupFailure}; trying again`);
  }
  heartbeat.cancel();
  diskWatch.cancel();
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
  if (overLimit) logs.write({ stream: "system", line: `[labelrun: stopped: ${overLimit}]`, at: deps.clock.now() });
  if (spend.over) {
    logs.write({
      stream: "system",
      line: `[labelrun: stopped: $${spend.over.costUsd} spent, past max_cost_usd $${spend.over.capUsd}]`,
      at: deps.clock.now(),
    });
  }
  await logs.close();
  log.info(
    { exitCode: processOutcome.exitCode, signal: processOutcome.signal, stoppedBy: processOutcome.stoppedBy },
    "agent exited",
  );

  const resultFile = await readResultFile(join(folders.workspace, "result.json"));
  return decideRunOutcome({
    process: processOutcome,
    result: parseAgentResult(resultFile, (text) => cleanAgentText(mask(text))),
    timeoutMinutes: jobType.timeout_minutes,
    lostClaim,
    shuttingDown: signals.shutdown.aborted,
    overLimit,
    overBudget: spend.over,
    reportedCostUsd: spend.reported,
    setupFailure,
    limits: sandboxed ? describeLimits(limits) : null,
    lastLines,
  });
}

/** How long after the trigger's webhook its picture of the issue/PR stands in for reading it. */
const SNAPSHOT_FRESH_MS = 5 * 60_000;

/**
 * The issue/PR as the trigger's webhook showed it, when that was moments ago: one
 * rate-limited request less per job. A job that waited longer (a backlog, a retry, a
 * deferral) reads it from GitHub, so an edit made meanwhile reaches the agent.
 */
function freshSnapshot(job: JobRow, now: Date): TargetDetails | null {
  if (!job.targetSnapshot || !job.targetOpenAt) return null;
  return Math.abs(now.getTime() - job.targetOpenAt.getTime()) <= SNAPSHOT_FRESH_MS ? job.targetSnapshot : null;
}
