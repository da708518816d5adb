import { and, eq, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { createJob } from "../jobs/create-job.js";
import { endActiveJobs } from "../jobs/end-active-jobs.js";
import { liftHold } from "../jobs/holds.js";
import { ACTIVE_STATES } from "../jobs/states.js";
import { type GitHubPort, splitFullName } from "./port.js";
import { neutralize } from "./status-comment/neutralize.js";

export interface FollowUpDeps {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
  dispatch(jobId: number): Promise<unknown>;
}

const PULL_URL = /^https:\/\/[^/]+\/([^/]+\/[^/]+)\/pull\/(\d+)$/;

/**
 * What a job's change sets off beyond its own comment: an agent's question
 * is posted; a completed job's follow-up type runs on the pull request it
 * produced; jobs blocked by it are released (it completed) or cancelled (it
 * failed, was cancelled or abandoned). Returns the other jobs it changed.
 */
export async function runFollowUps(deps: FollowUpDeps, job: JobRow): Promise<JobRow[]> {
  const changed: JobRow[] = [];
  if (job.hold === "awaiting_input" && job.question && job.questionCommentId === null) await postQuestion(deps, job);
  if (job.status === "completed") {
    const followUp = await createFollowUp(deps, job);
    if (followUp) changed.push(followUp);
  }
  if (["completed", "failed", "cancelled", "abandoned"].includes(job.status))
    changed.push(...(await settleBlocked(deps, job)));
  return changed;
}

async function postQuestion(deps: FollowUpDeps, job: JobRow): Promise<void> {
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
  await deps.db.update(jobs).set({ questionCommentId: id }).where(eq(jobs.id, job.id));
}

async function createFollowUp(deps: FollowUpDeps, job: JobRow): Promise<JobRow | null> {
  const followUpType = deps.jobTypes.byName.get(job.jobType)?.follow_up;
  const match = job.resultUrl ? PULL_URL.exec(job.resultUrl) : null;
  if (!followUpType || !match || match[1] !== job.repositoryFullName) return null;
  const config = deps.jobTypes.byName.get(followUpType);
  const result = await createJob(deps.db, {
    at: deps.clock.now(),
    actor: `job:${job.id}`,
    job: {
      installationId: job.installationId,
      repositoryId: job.repositoryId,
      repositoryFullName: job.repositoryFullName,
      targetNumber: Number(match[2]),
      targetKind: "pull_request",
      targetUrl: job.resultUrl,
      jobType: followUpType,
      triggeredBy: `labelrun (after job #${job.id})`,
      maxAttempts: config?.max_attempts,
      timeoutSeconds: config ? Math.round(config.timeout_minutes * 60) : undefined,
    },
  });
  if (result.outcome !== "created") return null;
  await deps.db.update(jobs).set({ parentJobId: job.id }).where(eq(jobs.id, result.job.id));
  await deps.dispatch(result.job.id);
  return null; // dispatch already brought its comment up to date
}

async function settleBlocked(deps: FollowUpDeps, job: JobRow): Promise<JobRow[]> {
  const blocked = await deps.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.blockedBy, job.id), eq(jobs.hold, "blocked_by"), inArray(jobs.status, [...ACTIVE_STATES])));
  const changed: JobRow[] = [];
  for (const waiting of blocked) {
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
      else if (lifted.ok) changed.push(lifted.job);
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
