import { REPO_CONFIG_PATH } from "../../config/repo-config.js";
import { splitFullName } from "../port.js";
import { forgetOwnerRepositoryConfigs, refreshRepositoryConfig } from "../repository-config-store.js";
import type { PushEvent } from "./events.js";
import type { IntakeDeps } from "./intake-deps.js";

export type PushOutcome = "ignored" | "refreshed" | "forgot_organisation_defaults";

/**
 * `push`: the stored config (dispatch trusts it for a few minutes) is read again when a push to
 * the default branch touched `.github/labelrun.yml` — at once for the repository, after the
 * response; for an organisation's `.github` repository (the default of every repository of
 * that owner without a file of its own), every repository of the owner is read again at its
 * next dispatch. Every other push costs no query.
 */
export async function handlePush(deps: IntakeDeps, event: PushEvent): Promise<PushOutcome> {
  if (!event.toDefaultBranch || !event.changedPaths.includes(REPO_CONFIG_PATH)) return "ignored";
  const { owner, repo } = splitFullName(event.repositoryFullName);
  if (repo === ".github") {
    await forgetOwnerRepositoryConfigs(deps.db, owner);
    return "forgot_organisation_defaults";
  }
  deps.after.run("read repository config", () =>
    refreshRepositoryConfig(
      deps,
      {
        installationId: event.installationId,
        owner,
        repo,
        repositoryId: event.repositoryId,
        repositoryFullName: event.repositoryFullName,
      },
      deps.clock.now(),
    ),
  );
  return "refreshed";
}
