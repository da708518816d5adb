import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { isTerminal } from "../jobs/states.js";
import { dispatchJobAndTell } from "./dispatch-job.js";
import type { AfterResponse } from "./intake/intake-deps.js";
import { reactToJob } from "./job-reactions.js";
import type { GitHubPort } from "./port.js";
import type { CommentTarget } from "./status-comment/status-comment-store.js";
import { type SyncHint, type SyncOutcome, syncStatusComment } from "./status-comment/sync-status-comment.js";

export interface JobServicesDeps {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
  /** This process's name when it writes status comments. */
  writerId: string;
  publicUrl?: string;
  /** GitHub's web host (github.com, or GHE_HOST): results are linked, and followed up, only there. */
  githubHost?: string;
  /**
   * Where the comment follow-up of a dispatch goes, when the caller must not wait for it:
   * comment writes are paced by GitHub's limits (seconds apart), dispatching must not be.
   */
  commentQueue?: AfterResponse;
  /** Running jobs allowed per installation (INSTALLATION_CONCURRENCY): a queued job's comment says when it is what it waits for. */
  installationLimit?: number;
  /** How long a target's first comment waits while its jobs are active (FIRST_COMMENT_DELAY_SECONDS; 0 or absent: at once). */
  firstCommentDelayMs?: number;
}

/**
 * What every process does after a job changes: the same code for intake,
 * worker and maintenance. Each change has already recorded its marks (the
 * comment is behind, reactions are due) in its own transaction; these calls
 * act on them now instead of at the next sweep, and are safe to repeat.
 */
export interface JobServices {
  syncComment(target: CommentTarget, hint?: SyncHint): Promise<SyncOutcome>;
  /** Dispatches a job, then lets its reactions and comment catch up. */
  dispatch(jobId: number): Promise<unknown>;
  /**
   * Carries out the job's due reactions, then brings the comments of every job they touched up to
   * date. A job given as its change's statement returned it (with its status and reaction
   * versions) saves the reads that row answers: no reaction is looked for when none was due, and
   * an active job tells its target's first comment is not due yet.
   */
  onJobChanged(job: ChangedJob): Promise<void>;
}

/** A job for onJobChanged: its id and target, and what its row said when the caller has the row. */
export type ChangedJob = CommentTarget &
  Pick<JobRow, "id"> &
  Partial<Pick<JobRow, "status" | "reactionVersion" | "reactedVersion">>;

export function targetOf(job: CommentTarget): CommentTarget {
  return {
    installationId: job.installationId,
    repositoryId: job.repositoryId,
    repositoryFullName: job.repositoryFullName,
    targetNumber: job.targetNumber,
  };
}

export function buildJobServices(c: JobServicesDeps): JobServices {
  const syncDeps = {
    db: c.db,
    github: c.github,
    clock: c.clock,
    log: c.log,
    writerId: c.writerId,
    publicUrl: c.publicUrl,
    githubHost: c.githubHost,
    limits: { installationLimit: c.installationLimit ?? 2, jobTypes: c.jobTypes },
    firstCommentDelayMs: c.firstCommentDelayMs,
  };
  const syncComment = async (target: CommentTarget, hint?: SyncHint): Promise<SyncOutcome> => {
    const outcome = await syncStatusComment(syncDeps, target, hint);
    // The target's first comment waits: look again once it is due (the sweep is the guarantee).
    if (outcome === "not_due") {
      c.clock.setTimeout(
        () => {
          const again = () => syncComment(target);
          if (c.commentQueue) c.commentQueue.run("status comment", again);
          else again().catch((error: unknown) => c.log.warn({ err: error }, "could not update the status comment"));
        },
        c.firstCommentDelayMs ?? 0,
        { background: true },
      );
    }
    return outcome;
  };
  const dispatch = async (jobId: number) => {
    const { outcome, job, moved } = await dispatchJobAndTell(c, jobId);
    // Skipped (suspended, held, transient GitHub trouble): nothing visible changed.
    if (outcome === "skipped" || !job) return outcome;
    // The job as its move returned it; else (a hold placed, a wait postponed) only its id and
    // target, which never change: the row dispatch read is from before its change.
    const changed: ChangedJob = moved ?? { id: job.id, ...targetOf(job) };
    if (c.commentQueue) c.commentQueue.run("status comment", () => onJobChanged(changed));
    else await onJobChanged(changed);
    return outcome;
  };
  async function onJobChanged(job: ChangedJob, depth = 0): Promise<void> {
    // A row that shows no reaction due needs no look: a reaction a later change raises comes with its own call.
    const noneDue =
      job.reactionVersion !== undefined &&
      job.reactedVersion !== undefined &&
      job.reactionVersion <= job.reactedVersion;
    const others = noneDue ? [] : await reactToJob({ ...c, dispatch }, job.id);
    // Reactions first: the question (if any) is posted, so the comment can link the job to it.
    await syncComment(targetOf(job), { jobActive: job.status !== undefined && !isTerminal(job.status) });
    // Jobs the reactions changed (a blocked job cancelled, a follow-up created) have reactions
    // and comments of their own; a chain deeper than this is left to the sweep.
    if (depth < 4) for (const other of others) await onJobChanged(other, depth + 1);
  }
  return { syncComment, onJobChanged, dispatch };
}
