import type { JobRow } from "../../db/schema.js";
import { amendJob } from "../../jobs/amend-job.js";
import { endActiveJobs } from "../../jobs/end-active-jobs.js";
import { findActiveJobs, findJobsByResultUrl } from "../../jobs/find-jobs.js";
import { targetOf } from "../job-services.js";
import type { LabelEvent, TargetEvent } from "./events.js";
import { commentTarget } from "./handle-labeled.js";
import { type IntakeDeps, readRepositoryConfig } from "./intake-deps.js";

/**
 * `*.unlabeled` of a trigger label: its active job is cancelled (a running
 * one too; its worker stops the agent). Labels removed by bots — labelrun's
 * own removal when a job ends included — change nothing.
 */
export async function handleUnlabeled(deps: IntakeDeps, event: LabelEvent): Promise<number[]> {
  if (event.sender.isBot) return [];
  const cached = await readRepositoryConfig(deps, event.repositoryId);
  const jobType = (cached?.triggers ?? deps.jobTypes.defaultTriggers)[event.label];
  if (!jobType) return [];
  const active = await findActiveJobs(
    deps.db,
    { repositoryId: event.repositoryId, targetNumber: event.number },
    jobType,
  );
  return cancel(deps, event, active, `the \`${event.label}\` label was removed by @${event.sender.login}`);
}

/** `*.closed`: every active job on the issue/PR is cancelled. Reopening restarts nothing. */
export async function handleClosed(deps: IntakeDeps, event: TargetEvent): Promise<number[]> {
  const active = await findActiveJobs(deps.db, { repositoryId: event.repositoryId, targetNumber: event.number });
  const what = event.kind === "pull_request" ? "pull request" : "issue";
  return cancel(deps, event, active, `the ${what} was closed by @${event.sender.login}`);
}

async function cancel(
  deps: IntakeDeps,
  event: TargetEvent,
  active: Awaited<ReturnType<typeof findActiveJobs>>,
  message: string,
): Promise<number[]> {
  if (!active.length) return [];
  const ended = await endActiveJobs(deps.db, active, {
    to: "cancelled",
    code: "CANCELLED",
    message,
    actor: `github:${event.sender.login}`,
    at: deps.clock.now(),
  });
  deps.log.info({ deliveryId: event.deliveryId, jobs: ended.map((j) => j.id) }, message);
  deps.after.run("status comment", () => deps.syncComment(commentTarget(event)));
  return ended.map((job) => job.id);
}

/**
 * `pull_request.closed` / `reopened` of a pull request that some job produced:
 * the job's comment and page show the PR's state (open, merged, closed),
 * without reopening the job's lifecycle.
 */
export async function followResultPullRequest(
  deps: IntakeDeps,
  event: TargetEvent,
  state: "open" | "merged" | "closed",
): Promise<number[]> {
  const updated: JobRow[] = [];
  for (const job of await findJobsByResultUrl(deps.db, event.repositoryId, event.url)) {
    if (job.resultPrState === state) continue;
    const changed = await amendJob(deps.db, {
      jobId: job.id,
      set: { resultPrState: state },
      at: deps.clock.now(),
      actor: `github:${event.sender.login}`,
      code: "RESULT_PR",
      message: `its pull request is ${state}`,
    });
    if (changed) updated.push(changed);
  }
  // Only the comment changes: the job's own lifecycle (and its label) were settled when it ended.
  for (const job of updated) deps.after.run("status comment", () => deps.syncComment(targetOf(job)));
  return updated.map((job) => job.id);
}
