import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { JobTypes } from "../../config/job-types.js";
import type { Database } from "../../db/client.js";
import type { GitHubPort } from "../port.js";
import type { CommentTarget } from "../status-comment/status-comment-store.js";

/** Runs work after the webhook has been answered (dispatch, comment edits). */
export interface AfterResponse {
  run(name: string, task: () => Promise<unknown>): void;
}

export interface IntakeDeps {
  db: Database;
  clock: Clock;
  log: Logger;
  jobTypes: JobTypes;
  github: GitHubPort;
  after: AfterResponse;
  /**
   * Where comment commands are carried out (default: `after`): a queue of their own, so a flood
   * of strangers' `/labelrun` comments never delays dispatching jobs.
   */
  commands?: AfterResponse;
  dispatch(jobId: number): Promise<unknown>;
  syncComment(target: CommentTarget): Promise<unknown>;
}
