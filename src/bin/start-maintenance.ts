import type { Logger } from "pino";
import { systemClock } from "../clock.js";
import type { Env } from "../config/env.js";
import type { Quotas } from "../config/job-types.js";
import type { DatabaseHandle } from "../db/client.js";
import { startMaintenanceLoops } from "../maintenance/maintenance-loop.js";
import type { SweepDeps } from "../maintenance/sweep-deps.js";
import type { GitHubServices } from "./github-services.js";

export function sweepDepsFrom(
  env: Env,
  log: Logger,
  database: DatabaseHandle,
  gh: GitHubServices,
  quotas?: Quotas,
): SweepDeps {
  return {
    db: database.db,
    clock: systemClock,
    log: log.child({ loop: "maintenance" }),
    settings: {
      batchSize: env.SWEEP_BATCH_SIZE,
      timeoutGraceSeconds: env.TIMEOUT_GRACE_SECONDS,
      stalePendingSeconds: env.STALE_PENDING_SECONDS,
      maxHoldDays: env.MAX_HOLD_DAYS,
      retentionDays: env.LOG_RETENTION_DAYS,
    },
    dispatch: gh.services.dispatch,
    syncComment: gh.services.syncComment,
    onJobChanged: gh.services.onJobChanged,
    runCommand: gh.runCommand,
    deliveries: gh.deliveries,
    quotas,
  };
}

/** Starts the maintenance loops (every process runs them; an advisory lock per loop picks its sweeper). */
export function startMaintenance(params: {
  env: Env;
  log: Logger;
  database: DatabaseHandle;
  gh: GitHubServices | null;
  /** The operator's monthly quotas, when the job-types file sets any. */
  quotas?: Quotas;
}): () => Promise<void> {
  const { env, log, database, gh } = params;
  if (!gh) {
    log.warn("no GitHub App configured: the maintenance loop is off (there is nothing to sweep without webhooks)");
    return async () => {};
  }
  return startMaintenanceLoops(
    { ...sweepDepsFrom(env, log, database, gh, params.quotas), handle: database },
    env.MAINTENANCE_INTERVAL_SECONDS * 1000,
    gh.followChange,
  );
}
