import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { JobTypes } from "../../config/job-types.js";
import type { Database } from "../../db/client.js";
import type { GitHubPort } from "../port.js";
import type { RepositoryConfigCache } from "../repository-config-cache.js";
import { getCachedRepositoryConfig } from "../repository-config-store.js";
import type { CommentTarget } from "../status-comment/status-comment-store.js";
import type { FirstConfigReads } from "./first-config-reads.js";
import type { InstallationChecks } from "./installation-checks.js";

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
  /** Installations this process recorded lately (a trigger refreshes its own at most every few minutes). */
  installationChecks: InstallationChecks;
  /** Labels waiting for their repository's first config read (one read for a burst). */
  firstConfigReads: FirstConfigReads;
  /** This process's copy of the repository configs (a non-trigger label costs no query); absent: read each time. */
  configCache?: RepositoryConfigCache;
}

/** The repository's cached config row: from this process's copy when there is one. */
export function readRepositoryConfig(deps: Pick<IntakeDeps, "db" | "configCache">, repositoryId: number) {
  return deps.configCache
    ? deps.configCache.get(deps.db, repositoryId)
    : getCachedRepositoryConfig(deps.db, repositoryId);
}
