import { findJobByCheckRun } from "../../jobs/find-jobs.js";
import { actOnJob } from "../../jobs/job-actions.js";
import { splitFullName } from "../port.js";
import type { CheckRunEvent } from "./events.js";
import type { CommentIntakeDeps } from "./handle-comment.js";

/**
 * GitHub's **Re-run** on a job's check run (`check_run.rerequested`): the job is retried like
 * re-adding its label — a new job, with its own check run. Only for people with write access
 * (GitHub shows the button only to them; asked again here, as for commands); a job still
 * active is not retried (it is logged).
 */
export async function handleCheckRerun(deps: CommentIntakeDeps, event: CheckRunEvent): Promise<"retried" | "ignored"> {
  const log = deps.log.child({ deliveryId: event.deliveryId, checkRunId: event.checkRunId });
  const job = await findJobByCheckRun(deps.db, event.repositoryId, event.checkRunId);
  if (!job || event.sender.isBot) return "ignored";
  const { owner, repo } = splitFullName(event.repositoryFullName);
  if (!(await deps.canWrite({ installationId: event.installation.id, owner, repo }, event.sender.login))) {
    log.info({ sender: event.sender.login }, "Re-run by someone without write access: nothing done");
    return "ignored";
  }
  const outcome = await actOnJob(deps.db, deps.clock, job, "retry", {
    actor: `github:${event.sender.login}`,
    by: `@${event.sender.login} with the check run's Re-run`,
    approver: event.sender.login,
  });
  log.info({ jobId: job.id, done: outcome.done, outcome: outcome.message }, "check run Re-run");
  if (!outcome.done) return "ignored";
  for (const id of outcome.dispatch) deps.after.run("dispatch", () => deps.dispatch(id));
  for (const changed of outcome.changed) deps.after.run("job changed", () => deps.onJobChanged(changed));
  return "retried";
}
