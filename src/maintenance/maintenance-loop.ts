import type { Timer } from "../clock.js";
import type { DatabaseHandle } from "../db/client.js";
import { withLeadership } from "../db/leadership.js";
import { runSweeps, type SweepReport } from "./run-sweeps.js";
import type { SweepDeps } from "./sweep-deps.js";

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
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** One tick: the reports when this process led, or null when another process did. */
  async tick(): Promise<SweepReport[] | null> {
    const outcome = await withLeadership(this.deps.handle, () => runSweeps(this.deps));
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
