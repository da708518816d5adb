import { type CreateJobResult, createJob } from "../../jobs/create-job.js";
import { findActiveJobs } from "../../jobs/find-jobs.js";
import { splitFullName } from "../port.js";
import { refreshRepositoryConfig } from "../repository-config-store.js";
import type { LabelEvent } from "./events.js";
import { type IntakeDeps, readRepositoryConfig } from "./intake-deps.js";

export type LabeledOutcome = CreateJobResult | { outcome: "ignored"; reason: string };

/**
 * `issues.labeled` / `pull_request.labeled`: a trigger label records a
 * `pending` job from the database alone (the cached repository config tells
 * trigger labels apart), so the webhook is answered without waiting on
 * GitHub. Dispatch and the status comment follow after the response.
 */
export async function handleLabeled(deps: IntakeDeps, event: LabelEvent): Promise<LabeledOutcome> {
  const cached = await readRepositoryConfig(deps, event.repositoryId);
  if (event.sender.isBot && !cached?.allowBots.includes(event.sender.login)) {
    return { outcome: "ignored", reason: `labels added by bots (${event.sender.login}) do not trigger` };
  }
  const jobType = (cached?.triggers ?? deps.jobTypes.defaultTriggers)[event.label];
  if (!jobType) {
    // Never read this repository's config: its own trigger labels are not
    // known yet. Read it after the response (once for a burst of labels) and look at this label again.
    if (!cached && deps.firstConfigReads.wait(event)) {
      deps.after.run("read repository config", () => recheckAfterConfigRead(deps, event));
    }
    return { outcome: "ignored", reason: `\`${event.label}\` is not a trigger label` };
  }
  if (cached && !cached.enabled) return { outcome: "ignored", reason: "labelrun is turned off for this repository" };
  if (event.state === "closed") return { outcome: "ignored", reason: "the issue or pull request is closed" };

  const at = deps.clock.now();
  await deps.installationChecks.record(deps.db, event.installation, at);
  const config = deps.jobTypes.byName.get(jobType);
  // A job type that runs `after` others waits, held, while one of them is active here.
  const blocker = config?.after.length
    ? (await findActiveJobs(deps.db, { repositoryId: event.repositoryId, targetNumber: event.number })).find((job) =>
        config.after.includes(job.jobType),
      )
    : undefined;
  const result = await createJob(deps.db, {
    at,
    actor: `github:${event.sender.login}`,
    installation: event.installation,
    job: {
      installationId: event.installation.id,
      repositoryId: event.repositoryId,
      repositoryFullName: event.repositoryFullName,
      targetNumber: event.number,
      targetKind: event.kind,
      targetTitle: event.title,
      targetUrl: event.url,
      jobType,
      triggerLabel: event.label,
      triggeredBy: event.sender.login,
      deliveryId: event.deliveryId,
      maxAttempts: config?.max_attempts,
      timeoutSeconds: config ? Math.round(config.timeout_minutes * 60) : undefined,
      hold: blocker ? "blocked_by" : null,
      blockedBy: blocker?.id ?? null,
      checkHeadSha: event.headSha ?? null,
      targetOpenAt: event.openAt ?? null,
      targetSnapshot: event.snapshot ?? null,
    },
  });
  const log = deps.log.child({ deliveryId: event.deliveryId, jobId: result.job.id });
  log.info({ outcome: result.outcome, jobType, repository: event.repositoryFullName, number: event.number }, "trigger");
  if (result.outcome === "created" && result.job.hold) {
    deps.after.run("status comment", () => deps.syncComment(commentTarget(event)));
  } else if (result.outcome === "created") {
    const jobId = result.job.id;
    deps.after.run("dispatch", () => deps.dispatch(jobId));
  } else if (result.outcome === "duplicate") {
    deps.after.run("status comment", () => deps.syncComment(commentTarget(event)));
  }
  return result;
}

async function recheckAfterConfigRead(deps: IntakeDeps, event: LabelEvent): Promise<void> {
  const { owner, repo } = splitFullName(event.repositoryFullName);
  let waited: LabelEvent[] = [];
  try {
    await refreshRepositoryConfig(
      deps,
      {
        installationId: event.installation.id,
        owner,
        repo,
        repositoryId: event.repositoryId,
        repositoryFullName: event.repositoryFullName,
      },
      deps.clock.now(),
    );
  } finally {
    // Read or not, the labels that waited are this task's: a later label starts a read of its own.
    waited = deps.firstConfigReads.take(event.repositoryId);
  }
  const cached = await readRepositoryConfig(deps, event.repositoryId);
  for (const label of waited) if (cached?.triggers[label.label]) await handleLabeled(deps, label);
}

export function commentTarget(event: {
  installation: { id: number };
  repositoryId: number;
  repositoryFullName: string;
  number: number;
}) {
  return {
    installationId: event.installation.id,
    repositoryId: event.repositoryId,
    repositoryFullName: event.repositoryFullName,
    targetNumber: event.number,
  };
}
