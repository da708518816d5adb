import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { JobTypes } from "../../config/job-types.js";
import type { Database } from "../../db/client.js";
import { getJob } from "../../jobs/find-jobs.js";
import { afterJobChange } from "../after-job-change.js";
import { dispatchJob } from "../dispatch-job.js";
import type { GitHubPort } from "../port.js";
import type { CommentTarget } from "../status-comment/status-comment-store.js";
import { syncStatusComment } from "../status-comment/sync-status-comment.js";
import type { AfterResponse, IntakeDeps } from "./intake-deps.js";

export interface IntakeCollaborators {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
  after: AfterResponse;
  /** This process's name when it writes status comments. */
  writerId: string;
  publicUrl?: string;
}

/** Wires dispatch and the status comment into the intake; constructs no client. */
export function buildIntakeDeps(c: IntakeCollaborators): IntakeDeps {
  const syncComment = (target: CommentTarget) =>
    syncStatusComment(
      { db: c.db, github: c.github, clock: c.clock, log: c.log, writerId: c.writerId, publicUrl: c.publicUrl },
      target,
    );
  const changed = afterJobChange({ db: c.db, github: c.github, log: c.log, syncComment });
  return {
    db: c.db,
    clock: c.clock,
    log: c.log,
    jobTypes: c.jobTypes,
    github: c.github,
    after: c.after,
    syncComment,
    async dispatch(jobId) {
      const outcome = await dispatchJob(c, jobId);
      const job = await getJob(c.db, jobId);
      if (job) await changed(job);
      return outcome;
    },
  };
}
