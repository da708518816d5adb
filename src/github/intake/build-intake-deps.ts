import { PermissionCache, runCommand } from "../commands/run-command.js";
import { buildJobServices, type JobServices, type JobServicesDeps } from "../job-services.js";
import type { RepositoryConfigCache } from "../repository-config-cache.js";
import { FirstConfigReads } from "./first-config-reads.js";
import type { CommentIntakeDeps } from "./handle-comment.js";
import { InstallationChecks } from "./installation-checks.js";
import type { AfterResponse } from "./intake-deps.js";
import { PerPersonLimit } from "./per-person-limit.js";

export interface IntakeCollaborators extends JobServicesDeps {
  after: AfterResponse;
  /** Comment commands' own queue (default: `after`). */
  commands?: AfterResponse;
  /** The process's one JobServices and permission cache (src/bin builds them once); tests may leave them out. */
  services?: JobServices;
  permissions?: PermissionCache;
  /** This process's copy of the repository configs, when it listens for their rewrites. */
  configCache?: RepositoryConfigCache;
}

/** Wires dispatch, the status comment and comment commands into the intake; constructs no client. */
export function buildIntakeDeps(c: IntakeCollaborators): CommentIntakeDeps {
  const services = c.services ?? buildJobServices(c);
  const permissions = c.permissions ?? new PermissionCache(c.github, c.clock);
  return {
    db: c.db,
    clock: c.clock,
    log: c.log,
    jobTypes: c.jobTypes,
    github: c.github,
    after: c.after,
    commands: c.commands,
    configCache: c.configCache,
    firstConfigReads: new FirstConfigReads(c.clock),
    installationChecks: new InstallationChecks(c.clock),
    // Ten a minute per person and installation (per process): a person typing commands never
    // meets it; a script flooding an issue with them stops costing GitHub requests.
    commandLimit: new PerPersonLimit(10, 60_000),
    syncComment: services.syncComment,
    dispatch: services.dispatch,
    onJobChanged: services.onJobChanged,
    canWrite: (ref, username) => permissions.canWrite(ref, username),
    runCommand: (row) =>
      runCommand(
        { db: c.db, github: c.github, clock: c.clock, log: c.log, services, permissions, jobTypes: c.jobTypes },
        row,
      ),
  };
}
