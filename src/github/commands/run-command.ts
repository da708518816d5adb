import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { JobTypes } from "../../config/job-types.js";
import type { Database } from "../../db/client.js";
import type { JobRow } from "../../db/schema.js";
import { findJobsForTarget } from "../../jobs/find-jobs.js";
import { type ActionOutcome, actOnJob } from "../../jobs/job-actions.js";
import { type ReviewRoundOutcome, startReviewRound } from "../../jobs/start-review-round.js";
import { isTerminal } from "../../jobs/states.js";
import type { JobServices } from "../job-services.js";
import { type GitHubPort, type Permission, splitFullName, WRITE_PERMISSIONS } from "../port.js";
import { type CommandRow, claimCommand, recordCommandOutcome } from "./command-store.js";
import type { CommandName } from "./parse-command.js";

export interface CommandDeps {
  db: Database;
  github: GitHubPort;
  clock: Clock;
  log: Logger;
  services: JobServices;
  permissions: PermissionCache;
  /** The operator's job types (a review round runs the opener's `on_review` type). */
  jobTypes: JobTypes;
}

export type { CommandRow };
export type Outcome = ActionOutcome;

/**
 * GitHub's collaborator permission, remembered for a minute per repository and user; lookups
 * for the same person at the same time share one request (a burst of commands costs one).
 */
export class PermissionCache {
  private readonly entries = new Map<string, { permission: Promise<Permission>; until: number }>();
  constructor(
    private readonly github: GitHubPort,
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  async get(ref: Parameters<GitHubPort["getPermission"]>[0], username: string): Promise<Permission> {
    const key = `${ref.installationId}/${ref.owner}/${ref.repo}/${username}`;
    const now = this.clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.permission;
    const permission = this.github.getPermission(ref, username);
    this.entries.set(key, { permission, until: now + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A failed lookup is not remembered: the next command asks again.
    permission.catch(() => {
      if (this.entries.get(key)?.permission === permission) this.entries.delete(key);
    });
    return permission;
  }

  async canWrite(ref: Parameters<GitHubPort["getPermission"]>[0], username: string): Promise<boolean> {
    return WRITE_PERMISSIONS.has(await this.get(ref, username));
  }
}

/**
 * Carries out one recorded `/labelrun` command: 👀 when taken, then the
 * permission check (write, maintain or admin), the change through the
 * lifecycle with the commenter as actor, and 👍 — or 😕 (for people without
 * write access, nothing more), and for writers a reply that
 * says why. The row's state makes a second delivery of the comment a no-op.
 */
export async function runCommand(deps: CommandDeps, row: CommandRow): Promise<Outcome> {
  const claimed = await claimCommand(deps.db, row.commentId, deps.clock.now());
  if (!claimed) return { done: false, message: "already taken" };
  const { owner, repo } = splitFullName(row.repositoryFullName);
  const ref = { installationId: row.installationId, owner, repo };
  let outcome: Outcome;
  const writer = await deps.permissions.canWrite(ref, row.author);
  if (!writer) {
    // Anyone on GitHub can comment: a stranger's command costs one reaction, never a reply
    // comment in the App's voice (which could be made to notify people, and spends the rate limit).
    outcome = { done: false, message: "only people with write access to this repository can use /labelrun commands" };
  } else {
    await deps.github.addReaction(ref, row.commentId, "eyes", row.inThread);
    outcome = await carryOut(deps, row);
  }
  await recordCommandOutcome(deps.db, row.commentId, { ...outcome, at: deps.clock.now() });
  if (outcome.done) {
    for (const id of outcome.dispatch) await deps.services.dispatch(id);
    for (const job of outcome.changed) await deps.services.onJobChanged(job);
  }
  await deps.github.addReaction(ref, row.commentId, outcome.done ? "+1" : "confused", row.inThread);
  if (!outcome.done && writer) await deps.github.createComment({ ...ref, number: row.targetNumber }, outcome.message);
  deps.log.info(
    { command: row.command, author: row.author, done: outcome.done, outcome: outcome.message },
    "comment command",
  );
  return outcome;
}

async function carryOut(deps: CommandDeps, row: CommandRow): Promise<Outcome> {
  const all = await findJobsForTarget(deps.db, { repositoryId: row.repositoryId, targetNumber: row.targetNumber });
  const command = row.command as CommandName;
  if (command === "revise") return revise(deps, row, all[0]);
  // retry looks at each type's latest job; every other command at active jobs.
  const latestPerType = [...new Map(all.map((job) => [job.jobType, job] as const).reverse()).values()];
  const candidates = (command === "retry" ? latestPerType : all.filter((job) => !isTerminal(job.status))).filter(
    (job) => !row.jobType || job.jobType === row.jobType,
  );
  if (!candidates.length) {
    const what = row.jobType ? `\`${row.jobType}\` job` : "job";
    return {
      done: false,
      message: `There is no ${command === "retry" ? "" : "active "}labelrun ${what} on this ${all[0]?.targetKind === "pull_request" ? "pull request" : "issue"} to ${command}.`,
    };
  }
  if (candidates.length > 1) {
    const types = candidates.map((job) => job.jobType).join(", ");
    return {
      done: false,
      message: `This has jobs of several types (${types}): say which, e.g. \`/labelrun ${command} ${candidates[0]?.jobType}\`.`,
    };
  }
  const job = candidates[0] as JobRow;
  if (command === "approve" && job.hold === "quota_reached") {
    // A quota is the operator's budget: only a repository admin may let a job past it.
    const { owner, repo } = splitFullName(row.repositoryFullName);
    const permission = await deps.permissions.get({ installationId: row.installationId, owner, repo }, row.author);
    if (permission !== "admin") {
      return {
        done: false,
        message: `Only a repository admin can let job #${job.id} past its quota (${job.holdReason ?? "a monthly quota is used up"}).`,
      };
    }
  }
  return actOnJob(deps.db, deps.clock, job, command, {
    actor: `github:${row.author}`,
    by: `@${row.author} with \`/labelrun ${command}\``,
    approver: row.author,
  });
}

/** `/labelrun revise [what to change]` on a pull request a labelrun job opened: a new review round. */
async function revise(deps: CommandDeps, row: CommandRow, anyJob: JobRow | undefined): Promise<Outcome> {
  const started = await startReviewRound(
    { db: deps.db, jobTypes: deps.jobTypes },
    {
      installationId: row.installationId,
      repositoryId: row.repositoryId,
      repositoryFullName: row.repositoryFullName,
      pullNumber: row.targetNumber,
      pullTitle: anyJob?.targetKind === "pull_request" ? anyJob.targetTitle : null,
      pullUrl: anyJob?.targetKind === "pull_request" ? anyJob.targetUrl : null,
      requestedBy: row.author,
      trigger: {
        reviewId: null,
        commentId: row.commentId,
        inThread: row.inThread,
        author: row.author,
        state: "commented",
        body: row.note ?? "",
      },
      deliveryId: `revise:${row.commentId}`,
    },
    deps.clock.now(),
  );
  // A duplicate or a request past the limit is recorded as a cancelled job: the comment shows it now.
  if (started.outcome === "duplicate" || started.outcome === "limit") await deps.services.onJobChanged(started.job);
  return reviewRoundOutcome(started);
}

/** What a review round's start means for the command or review that asked for it. */
export function reviewRoundOutcome(started: ReviewRoundOutcome): Outcome {
  switch (started.outcome) {
    case "started":
      return {
        done: true,
        message: `review round ${started.round} started as job #${started.job.id}`,
        job: started.job,
        dispatch: [started.job.id],
        changed: [],
      };
    case "already_recorded":
      return {
        done: true,
        message: `already started as job #${started.job.id}`,
        job: started.job,
        dispatch: [],
        changed: [],
      };
    case "duplicate":
      return {
        done: false,
        message: `A review round is already under way here (job #${started.activeJob.id}); this request was recorded as a duplicate.`,
        conflict: "duplicate",
      };
    case "limit":
      return {
        done: false,
        message: `This pull request has had ${started.rounds} review rounds, the most allowed (max_review_rounds: ${started.max}); labelrun will not start another.`,
      };
    default:
      return { done: false, message: `labelrun cannot revise this: ${started.message}.` };
  }
}
