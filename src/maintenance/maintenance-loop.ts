import type { Timer } from "../clock.js";
import type { DatabaseHandle } from "../db/client.js";
import { GITHUB_SWEEPS_LOCK_KEY, LEADER_DEADLINE_MS, MAINTENANCE_LOCK_KEY, withLeadership } from "../db/leadership.js";
import type { ChangedJob } from "../github/job-services.js";
import { runSweeps, type SweepName, type SweepReport, sweepsOf } from "./run-sweeps.js";
import type { SweepDeps } from "./sweep-deps.js";

export interface MaintenanceLoopOptions {
  /** The sweeps a tick runs (default: all of them). */
  sweeps?: readonly SweepName[];
  /** The advisory lock its leader holds for a tick (default: MAINTENANCE_LOCK_KEY). */
  lockKey?: bigint;
}

/**
 * Runs the sweeps every interval in every process; only the tick that wins
 * the advisory lock sweeps. A tick that fails (database away) is logged and
 * the next one tries again.
 */
export class MaintenanceLoop {
  private timer: Timer | null = null;
  private current: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly deps: SweepDeps & { handle: DatabaseHandle },
    private readonly intervalMs: number,
    private readonly options: MaintenanceLoopOptions = {},
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** One tick: the reports when this process led, or null when another process did. */
  async tick(): Promise<SweepReport[] | null> {
    const outcome = await withLeadership(
      this.deps.handle,
      () => runSweeps(this.deps, this.options.sweeps),
      LEADER_DEADLINE_MS,
      this.options.lockKey,
    );
    if (!outcome.led) return null;
    const moved = outcome.result.filter((r) => r.moved > 0);
    if (moved.length) this.deps.log.info({ sweeps: moved }, "maintenance sweep moved jobs");
    return outcome.result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.current = this.tick()
        .catch((error: unknown) =>
          this.deps.log.warn({ err: error }, "maintenance tick failed; retrying next interval"),
        )
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
  }
}

/**
 * The process's maintenance: the job sweeps and the GitHub sweeps (see SWEEPS), each on a loop and
 * a leader of its own, so that GitHub's pace never holds back a requeue, a timeout or a lost
 * worker's hand-back. The job sweeps do not wait for what their moves should show on GitHub:
 * `follow` takes it (the comment queue), and the GitHub sweeps are the guarantee for whatever it
 * drops. Returns what stops both.
 */
export function startMaintenanceLoops(
  deps: SweepDeps & { handle: DatabaseHandle },
  intervalMs: number,
  follow: (job: ChangedJob) => void,
): () => Promise<void> {
  const jobs = new MaintenanceLoop(
    {
      ...deps,
      onJobChanged: async (job) => follow(job),
    },
    intervalMs,
    { sweeps: sweepsOf("jobs"), lockKey: MAINTENANCE_LOCK_KEY },
  );
  const github = new MaintenanceLoop(deps, intervalMs, {
    sweeps: sweepsOf("github"),
    lockKey: GITHUB_SWEEPS_LOCK_KEY,
  });
  jobs.start();
  github.start();
  return async () => {
    await Promise.all([jobs.stop(), github.stop()]);
  };
}
