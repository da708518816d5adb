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

/**
 * The sweeps in the order a tick runs them: timeouts before lost leases, so a job both late and
 * silent is a TIMEOUT. Each belongs to a loop:
 * - `jobs`: moves jobs and keeps their records (the database, and dispatch's reads). They run every
 *   interval on time; what GitHub should show of their moves follows on the comment queue.
 * - `github`: waits on GitHub. Comment writes are paced seconds apart, sharing the pace with every
 *   other write of the process; command replies; redeliveries. A tick of these took 12-30 s under
 *   load (test:soak), and in one loop with the others it held back requeues and lost-lease
 *   hand-backs as long, so they have a loop and a leader of their own.
 */
export const SWEEPS = [
  ["timeouts", sweepTimeouts, "jobs"],
  ["lost_workers", sweepLostWorkers, "jobs"],
  ["long_held", sweepLongHeld, "jobs"],
  ["quotas", sweepQuotas, "jobs"],
  ["deferred", sweepDeferred, "jobs"],
  ["stale_pending", sweepStalePending, "jobs"],
  ["reactions", sweepReactions, "github"],
  ["status_comments", sweepStatusComments, "github"],
  ["left_commands", sweepLeftCommands, "github"],
  ["failed_deliveries", sweepFailedDeliveries, "github"],
  ["retention", sweepRetention, "jobs"],
  ["insights", sweepInsights, "jobs"],
] as const;

export type SweepName = (typeof SWEEPS)[number][0];
export type SweepLoop = (typeof SWEEPS)[number][2];

/** The sweeps of one loop, in tick order. */
export const sweepsOf = (loop: SweepLoop): SweepName[] =>
  SWEEPS.filter(([, , of]) => of === loop).map(([name]) => name);

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
