import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import type { JobRow } from "../../db/schema.js";
import { recordCheckRun } from "../../jobs/record-check-run.js";
import { classifyGitHubError } from "../classify-error.js";
import type { GitHubPort, RepoRef } from "../port.js";
import { checkRunForJob, checkRunStateKey } from "./check-run-for-job.js";

/** A check run given up on (access to checks lost, the commit gone): not asked again for this state. */
const GIVEN_UP = "given-up:";

/**
 * Brings the check runs of a pull request's jobs in step with their records: created on the
 * job's commit the first time, then updated when the job's state moves. It runs inside the
 * status comment's sync (the same mark): a transient failure throws, so the comment stays
 * behind and the sweep comes back to both; a permanent one is logged and that state given up.
 * Writers of one pull request take turns (the status comment's lease), so one job never gets
 * two check runs; the record is a compare-and-set on the check run id that was read.
 */
export async function syncCheckRuns(
  deps: { db: Database; github: GitHubPort; clock: Clock; log: Logger; publicUrl?: string; githubHost?: string },
  ref: RepoRef & { number: number },
  targetJobs: readonly JobRow[],
): Promise<number> {
  let written = 0;
  for (const job of targetJobs) {
    const check = checkRunForJob(job, deps);
    if (!check) continue;
    const key = checkRunStateKey(check, job);
    if (job.checkRunState === key || job.checkRunState === `${GIVEN_UP}${key}`) continue;
    try {
      let checkRunId = job.checkRunId;
      if (checkRunId === null) {
        const headSha = job.checkHeadSha ?? (await deps.github.getPullHeadSha(ref));
        checkRunId = (await deps.github.createCheckRun(ref, { ...check, headSha })).id;
      } else {
        await deps.github.updateCheckRun(ref, checkRunId, check);
      }
      await recordCheckRun(deps.db, job, { checkRunId, state: key });
      written++;
    } catch (error) {
      const kind = classifyGitHubError(error, deps.clock.now());
      if (kind.kind !== "permanent" && kind.kind !== "revoked") throw error;
      deps.log.warn({ err: error, jobId: job.id }, "the job's check run cannot be written; given up for this state");
      await recordCheckRun(deps.db, job, { checkRunId: job.checkRunId, state: `${GIVEN_UP}${key}` });
    }
  }
  return written;
}
