import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { getJob } from "../jobs/find-jobs.js";
import { afterJobChange } from "./after-job-change.js";
import { dispatchJob } from "./dispatch-job.js";
import type { AfterResponse } from "./intake/intake-deps.js";
import { runFollowUps } from "./job-follow-ups.js";
import type { GitHubPort } from "./port.js";
import type { CommentTarget } from "./status-comment/status-comment-store.js";
import { type SyncOutcome, syncStatusComment } from "./status-comment/sync-status-comment.js";

export interface JobServicesDeps {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
  /** This process's name when it writes status comments. */
  writerId: string;
  publicUrl?: string;
  /**
   * Where the comment follow-up of a dispatch goes, when the caller must not wait for it:
   * comment writes are paced by GitHub's limits (seconds apart), dispatching must not be.
   */
  commentQueue?: AfterResponse;
}

/** What every process does after a job changes: the same code for intake, worker and maintenance. */
export interface JobServices {
  syncComment(target: CommentTarget): Promise<SyncOutcome>;
  /** Dispatches a job, then updates its comment (and removes the label if it ended). */
  dispatch(jobId: number): Promise<unknown>;
  onJobChanged(job: JobRow): Promise<void>;
}

export function buildJobServices(c: JobServicesDeps): JobServices {
  const syncComment = (target: CommentTarget) =>
    syncStatusComment(
      { db: c.db, github: c.github, clock: c.clock, log: c.log, writerId: c.writerId, publicUrl: c.publicUrl },
      target,
    );
  const ownChange = afterJobChange({ db: c.db, github: c.github, log: c.log, syncComment });
  const dispatch = async (jobId: number) => {
    const outcome = await dispatchJob(c, jobId);
    // Skipped (suspended, held, transient GitHub trouble): nothing visible changed.
    if (outcome === "skipped") return outcome;
    const job = await getJob(c.db, jobId);
    if (!job) return outcome;
    if (c.commentQueue) c.commentQueue.run("status comment", () => onJobChanged(job));
    else await onJobChanged(job);
    return outcome;
  };
  async function onJobChanged(job: JobRow): Promise<void> {
    const others = await runFollowUps({ ...c, dispatch }, job);
    // The question (if any) is posted first, so the comment can link the job to it.
    await ownChange((await getJob(c.db, job.id)) ?? job);
    for (const other of others) await ownChange(other);
  }
  return { syncComment, onJobChanged, dispatch };
}
