import { coerceError } from "../errors.js";
import { metrics } from "../metrics.js";
import type { SweepDeps } from "./sweep-deps.js";
import { sweepFailedDeliveries } from "./sweeps/redeliver-failed-deliveries.js";
import {
  sweepInsights,
  sweepLeftCommands,
  sweepReactions,
  sweepRetention,
  sweepStatusComments,
} from "./sweeps/sweep-housekeeping.js";
import { sweepLostWorkers, sweepTimeouts } from "./sweeps/sweep-running-jobs.js";
import { sweepDeferred, sweepLongHeld, sweepQuotas, sweepStalePending } from "./sweeps/sweep-waiting-jobs.js";

/** The sweeps in the order a tick runs them: timeouts before lost leases, so a job both late and silent is a TIMEOUT. */
export const SWEEPS = [
  ["timeouts", sweepTimeouts],
  ["lost_workers", sweepLostWorkers],
  ["long_held", sweepLongHeld],
  ["quotas", sweepQuotas],
  ["deferred", sweepDeferred],
  ["stale_pending", sweepStalePending],
  ["reactions", sweepReactions],
  ["status_comments", sweepStatusComments],
  ["left_commands", sweepLeftCommands],
  ["failed_deliveries", sweepFailedDeliveries],
  ["retention", sweepRetention],
  ["insights", sweepInsights],
] as const;

export type SweepName = (typeof SWEEPS)[number][0];

export interface SweepReport {
  name: SweepName;
  moved: number;
  ms: number;
  error?: string;
}

/** Runs every sweep once. One failing sweep is logged and does not stop the others. */
export async function runSweeps(deps: SweepDeps, only?: readonly SweepName[]): Promise<SweepReport[]> {
  const reports: SweepReport[] = [];
  for (const [name, sweep] of SWEEPS) {
    if (only && !only.includes(name)) continue;
    const started = performance.now();
    try {
      const moved = await sweep(deps);
      const ms = performance.now() - started;
      metrics.sweepDuration.observe({ sweep: name }, ms / 1000);
      reports.push({ name, moved, ms });
    } catch (error) {
      deps.log.error({ err: error, sweep: name }, "sweep failed; the next tick tries again");
      reports.push({ name, moved: 0, ms: performance.now() - started, error: coerceError(error).message });
    }
  }
  return reports;
}
