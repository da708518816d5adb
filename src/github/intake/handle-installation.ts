import { markInstallationDeleted, recordInstallation, setInstallationSuspended } from "../../db/installations.js";
import { endActiveJobs } from "../../jobs/end-active-jobs.js";
import { findActiveJobsOfInstallation } from "../../jobs/find-jobs.js";
import { splitFullName } from "../port.js";
import { refreshRepositoryConfig } from "../repository-config-store.js";
import type { InstallationInfo, Sender } from "./events.js";
import type { IntakeDeps } from "./intake-deps.js";

export interface RepositoryInfo {
  id: number;
  fullName: string;
}

/** Colour of the trigger labels labelrun creates. */
const LABEL_COLOR = "5319e7";

/**
 * `installation.created` / `installation_repositories.added`: records the
 * installation and, after the response, creates each default trigger label
 * the repositories lack and reads their config.
 */
export async function handleRepositoriesAdded(
  deps: IntakeDeps,
  installation: InstallationInfo,
  repositories: readonly RepositoryInfo[],
): Promise<void> {
  await recordInstallation(deps.db, installation, deps.clock.now());
  for (const repository of repositories) {
    deps.after.run("prepare repository", async () => {
      const { owner, repo } = splitFullName(repository.fullName);
      const ref = { installationId: installation.id, owner, repo };
      for (const jobType of deps.jobTypes.byName.values()) {
        await deps.github.ensureLabel(ref, {
          name: jobType.label,
          color: LABEL_COLOR,
          description: `labelrun: run the ${jobType.name} job on this issue or pull request`.slice(0, 100),
        });
      }
      await refreshRepositoryConfig(
        deps,
        { ...ref, repositoryId: repository.id, repositoryFullName: repository.fullName },
        deps.clock.now(),
      );
    });
  }
}

/** `installation.deleted` / `installation_repositories.removed`: access is gone, so active jobs are abandoned. */
export async function handleAccessRevoked(
  deps: IntakeDeps,
  installation: InstallationInfo,
  sender: Sender,
  repositories?: readonly RepositoryInfo[],
): Promise<number[]> {
  const at = deps.clock.now();
  await recordInstallation(deps.db, installation, at);
  if (!repositories) await markInstallationDeleted(deps.db, installation.id, at);
  const active = await findActiveJobsOfInstallation(
    deps.db,
    installation.id,
    repositories?.map((r) => r.id),
  );
  const where = repositories ? repositories.map((r) => r.fullName).join(", ") : `installation ${installation.id}`;
  const ended = await endActiveJobs(deps.db, active, {
    to: "abandoned",
    code: "ACCESS_REVOKED",
    message: `access revoked: labelrun was removed from ${where} by @${sender.login}`,
    actor: `github:${sender.login}`,
    at,
  });
  deps.log.info({ installationId: installation.id, jobs: ended.map((j) => j.id) }, "access revoked");
  return ended.map((job) => job.id);
}

/** `installation.suspend` / `unsuspend`: while suspended, nothing is dispatched or claimed. */
export async function handleSuspension(deps: IntakeDeps, installation: InstallationInfo, suspended: boolean) {
  const now = deps.clock.now();
  await recordInstallation(deps.db, installation, now);
  await setInstallationSuspended(deps.db, installation.id, suspended ? now : null, now);
}
