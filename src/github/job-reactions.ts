import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { amendJob } from "../jobs/amend-job.js";
import { createJob } from "../jobs/create-job.js";
import { endActiveJobs } from "../jobs/end-active-jobs.js";
import { findBlockedBy, findJobsForTarget } from "../jobs/find-jobs.js";
import { liftHold } from "../jobs/holds.js";
import { markQueuedBehind } from "../jobs/mark-queued-behind.js";
import { releaseReactions, takeReactions } from "../jobs/reaction-marks.js";
import { isTerminal } from "../jobs/states.js";
import { classifyGitHubError } from "./classify-error.js";
import { type GitHubPort, splitFullName } from "./port.js";
import { getCachedRepositoryConfig } from "./repository-config-store.js";
import { neutralize, resultLink } from "./status-comment/neutralize.js";
import { installationUsable } from "./status-comment/status-comment-store.js";

export interface ReactionDeps {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
  /** Dispatches a job a reaction created or released (an accelerator: the stale-pending sweep is the guarantee). */
  dispatch(jobId: number): Promise<unknown>;
  /** GitHub's web host (default github.com): a follow-up runs only on a pull request there. */
  githubHost?: string;
}

/** How long one reactor may hold a job's reactions before another may take them over. */
const REACTION_LEASE_MS = 120_000;
const LABEL_REMOVED_WHEN: ReadonlySet<string> = new Set(["completed", "failed", "abandoned"]);
const PULL_PATH = /^\/([^/]+\/[^/]+)\/pull\/(\d{1,9})$/;

/** The pull request number of `url` when it is a pull request of `repository` on GitHub's host, else null. */
export function ownPullRequest(url: string | null, repository: string, githubHost = "github.com"): number | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" || parsed.hostname.toLowerCase() !== githubHost.toLowerCase()) return null;
  if (parsed.port || parsed.username || parsed.password || parsed.search || parsed.hash) return null;
  const match = PULL_PATH.exec(parsed.pathname);
  if (!match || match[1]?.toLowerCase() !== repository.toLowerCase()) return null;
  return Number(match[2]);
}

/**
 * Carries out what a job's recorded change left due (recordChange raised its
 * reaction mark): its question is posted, a completed job's follow-up type is
 * created on its pull request, jobs blocked by it are released or cancelled,
 * and the trigger label of an ended job is removed. Each step may run twice
 * without harm (the question's comment id, the follow-up's delivery id, the
 * blocked jobs' holds and the label itself are the proof of a step done), so
 * a crash anywhere only means the sweep runs them again. Returns the other
 * jobs it changed, whose comments are behind now.
 */
export async function reactToJob(deps: ReactionDeps, jobId: number): Promise<JobRow[]> {
  const now = deps.clock.now();
  const job = await takeReactions(deps.db, jobId, now, new Date(now.getTime() + REACTION_LEASE_MS));
  if (!job) return [];
  const changed: JobRow[] = [];
  let done = false;
  try {
    if (await installationUsable(deps.db, job.installationId)) {
      if (job.hold === "awaiting_input" && job.question && job.questionCommentId === null)
        await postQuestion(deps, job);
      if (job.status === "completed") changed.push(...(await createFollowUp(deps, job)));
      if (job.status === "completed" && job.reviewRound !== null && job.review && job.threadsAnsweredAt === null)
        changed.push(...(await answerThreads(deps, job)));
      if (isTerminal(job.status)) changed.push(...(await settleBlocked(deps, job)));
      // A slot freed: the installation's queued jobs read why they wait again.
      if (isTerminal(job.status)) await markQueuedBehind(deps.db, job.installationId, deps.clock.now());
      if (LABEL_REMOVED_WHEN.has(job.status)) await removeTriggerLabel(deps, job);
    } else if (isTerminal(job.status)) {
      // Access is gone: no comment, no label — but jobs waiting for this one still learn it ended.
      changed.push(...(await settleBlocked(deps, job)));
    }
    done = true;
  } catch (error) {
    const kind = classifyGitHubError(error, deps.clock.now());
    // A step GitHub refuses for good (the issue is gone) is not asked again; anything else is.
    done = kind.kind === "permanent" || kind.kind === "revoked";
    deps.log.warn(
      { err: error, jobId, kind: kind.kind },
      done
        ? "a reaction to the job's change was refused; given up"
        : "a reaction to the job's change failed; the sweep will retry",
    );
  } finally {
    await releaseReactions(deps.db, job.id, job.reactionVersion, done);
  }
  return changed;
}

async function postQuestion(deps: ReactionDeps, job: JobRow): Promise<void> {
  const { owner, repo } = splitFullName(job.repositoryFullName);
  // The agent's words, quoted line by line and made inert: no HTML (`</details>`, `<img>`), no
  // mention, link or image in the App's voice. At most 40 lines of 500 characters.
  const lines = (job.question ?? "").split(/\r?\n/);
  const quoted = [
    ...lines.slice(0, 40).map((line) => `> ${neutralize(line)}`),
    ...(lines.length > 40 ? [`> … (${lines.length - 40} more lines)`] : []),
  ].join("\n");
  const { id } = await deps.github.createComment(
    { installationId: job.installationId, owner, repo, number: job.targetNumber },
    `**labelrun job #${job.id} (\`${job.jobType}\`) asks:**\n\n${quoted}\n\nReply in a comment (anyone with write access): the next comment after this one is the answer, and the job runs again with it.`,
  );
  await amendJob(deps.db, {
    jobId: job.id,
    hold: "awaiting_input",
    set: { questionCommentId: id },
    at: deps.clock.now(),
    actor: "labelrun",
    code: "QUESTION_POSTED",
    message: "the agent's question was posted",
    data: { commentId: id },
  });
}

/** Threads a round replies in at most (a review with more comments gets the first ones). */
const MAX_THREAD_REPLIES = 10;

/**
 * A review round that completed says so where it was asked: in the review thread its
 * `/labelrun revise` was written in, or in each thread the review opened — the round's
 * summary (made inert) and its link. The time it was done is the proof (a second reaction
 * finds it and posts nothing; a crash between the replies and the proof repeats them).
 */
async function answerThreads(deps: ReactionDeps, job: JobRow): Promise<JobRow[]> {
  const trigger = job.review;
  if (!trigger) return [];
  const { owner, repo } = splitFullName(job.repositoryFullName);
  const ref = { installationId: job.installationId, owner, repo, number: job.targetNumber };
  const threads =
    trigger.reviewId !== null
      ? (await deps.github.listReviewThreadStarts(ref, trigger.reviewId)).slice(0, MAX_THREAD_REPLIES)
      : trigger.inThread && trigger.commentId !== null
        ? [trigger.commentId]
        : [];
  const link = job.resultUrl ? resultLink(job.resultUrl, job.repositoryFullName, deps.githubHost) : null;
  const summary = job.resultSummary ? neutralize(job.resultSummary).slice(0, 1_000) : "the round completed";
  const body = `**labelrun review round ${job.reviewRound} (job #${job.id}) is done:** ${summary}${link ? `\n\n${link}` : ""}`;
  for (const commentId of threads) await deps.github.replyInThread(ref, commentId, body);
  const amended = await amendJob(deps.db, {
    jobId: job.id,
    status: "completed",
    set: { threadsAnsweredAt: deps.clock.now() },
    at: deps.clock.now(),
    actor: "labelrun",
    code: "THREADS_ANSWERED",
    message: `replied in ${threads.length} review thread${threads.length === 1 ? "" : "s"}`,
    data: { threads },
  });
  return amended ? [amended] : [];
}

async function createFollowUp(deps: ReactionDeps, job: JobRow): Promise<JobRow[]> {
  const followUpType = deps.jobTypes.byName.get(job.jobType)?.follow_up;
  const pullNumber = ownPullRequest(job.resultUrl, job.repositoryFullName, deps.githubHost);
  if (!followUpType || pullNumber === null) return [];
  const config = deps.jobTypes.byName.get(followUpType);
  const result = await createJob(deps.db, {
    at: deps.clock.now(),
    actor: `job:${job.id}`,
    job: {
      installationId: job.installationId,
      repositoryId: job.repositoryId,
      repositoryFullName: job.repositoryFullName,
      targetNumber: pullNumber,
      targetKind: "pull_request",
      targetUrl: job.resultUrl,
      jobType: followUpType,
      triggeredBy: `labelrun (after job #${job.id})`,
      // The proof that this follow-up was created: a second reaction finds it and records nothing.
      deliveryId: `follow-up:${job.id}:${followUpType}`,
      parentJobId: job.id,
      maxAttempts: config?.max_attempts,
      timeoutSeconds: config ? Math.round(config.timeout_minutes * 60) : undefined,
    },
  });
  if (result.outcome === "created") await deps.dispatch(result.job.id);
  return result.outcome === "already_recorded" ? [] : [result.job];
}

async function settleBlocked(deps: ReactionDeps, job: JobRow): Promise<JobRow[]> {
  const changed: JobRow[] = [];
  for (const waiting of await findBlockedBy(deps.db, job.id)) {
    const at = deps.clock.now();
    if (job.status === "completed") {
      const lifted = await liftHold(deps.db, {
        job: waiting,
        expect: "blocked_by",
        actor: `job:${job.id}`,
        at,
        message: `job #${job.id} completed`,
      });
      if (lifted.ok && lifted.job.status === "pending") await deps.dispatch(waiting.id);
      if (lifted.ok) changed.push(lifted.job);
    } else {
      const [ended] = await endActiveJobs(deps.db, [waiting], {
        to: "cancelled",
        code: "CANCELLED",
        message: `job #${job.id} it waited for ended ${job.status}${job.failureCode ? ` (${job.failureCode})` : ""}`,
        actor: `job:${job.id}`,
        at,
      });
      if (ended) changed.push(ended);
    }
  }
  return changed;
}

/**
 * The trigger label of an ended job comes off (repository setting, on by
 * default), so adding it again is a one-step retry — unless a newer job of
 * the same type on the target has taken the label over. labelrun's own
 * removal comes back as an `unlabeled` event sent by a bot, which the intake ignores.
 */
async function removeTriggerLabel(deps: ReactionDeps, job: JobRow): Promise<void> {
  if (!job.triggerLabel || job.failureCode === "ACCESS_REVOKED") return;
  const cached = await getCachedRepositoryConfig(deps.db, job.repositoryId);
  if (cached && !cached.removeLabelWhenDone) return;
  const newer = (await findJobsForTarget(deps.db, job)).some(
    (other) => other.id > job.id && other.jobType === job.jobType && other.duplicateOf === null,
  );
  if (newer) return;
  const { owner, repo } = splitFullName(job.repositoryFullName);
  try {
    await deps.github.removeLabel(
      { installationId: job.installationId, owner, repo, number: job.targetNumber },
      job.triggerLabel,
    );
  } catch (error) {
    // Cosmetic: a label left behind only means a retry takes two clicks.
    deps.log.warn({ err: error, jobId: job.id }, "could not remove the trigger label");
  }
}
