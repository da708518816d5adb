import type { Logger } from "pino";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import type { GitHubPort } from "./port.js";
import { splitFullName } from "./port.js";
import { getCachedRepositoryConfig } from "./repository-config-cache.js";
import type { CommentTarget } from "./status-comment/status-comment-store.js";

const LABEL_REMOVED_WHEN: ReadonlySet<string> = new Set(["completed", "failed", "abandoned"]);

/**
 * What follows a job's change made outside a webhook (by a worker or the
 * sweep): the status comment catches up, and when the job ended the trigger
 * label is removed (repository setting, on by default), so adding it again is
 * a one-step retry. labelrun's own removal comes back as an `unlabeled` event
 * sent by a bot, which the intake ignores.
 */
export function afterJobChange(deps: {
  db: Database;
  github: GitHubPort;
  log: Logger;
  syncComment(target: CommentTarget): Promise<unknown>;
}): (job: JobRow) => Promise<void> {
  return async (job) => {
    // Access is gone: there is no comment to write and no label to remove.
    if (job.failureCode === "ACCESS_REVOKED") return;
    await deps.syncComment({
      installationId: job.installationId,
      repositoryId: job.repositoryId,
      repositoryFullName: job.repositoryFullName,
      targetNumber: job.targetNumber,
    });
    if (!job.triggerLabel || !LABEL_REMOVED_WHEN.has(job.status)) return;
    const cached = await getCachedRepositoryConfig(deps.db, job.repositoryId);
    if (cached && !cached.removeLabelWhenDone) return;
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
  };
}
