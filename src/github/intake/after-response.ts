import type { Logger } from "pino";
import type { AfterResponse } from "./intake-deps.js";

/**
 * Runs follow-up work (dispatch, comment edits) once the webhook handler has
 * returned, so GitHub's delivery is answered without waiting on GitHub's API.
 * At most `concurrency` tasks run at once and the rest wait in order, so a
 * flood of triggers cannot starve the webhook handlers of CPU and database
 * connections. A failing task is logged once; whatever it left undone stays
 * in the database for the maintenance sweep (pending jobs, dirty comments).
 * `idle()` waits for everything queued (tests, graceful shutdown).
 */
export class AfterResponseTasks implements AfterResponse {
  private readonly queue: Array<{ name: string; task: () => Promise<unknown> }> = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  private dropped = 0;

  constructor(
    private readonly log: Logger,
    private readonly concurrency = 4,
    /** Beyond this backlog new tasks are dropped: what they would do is in the database for the sweep. */
    private readonly maxBacklog = 2000,
  ) {}

  run(name: string, task: () => Promise<unknown>): void {
    if (this.queue.length >= this.maxBacklog) {
      // Memory stays bounded under a flood; the pending job or dirty comment waits for the sweep.
      if (this.dropped++ % 100 === 0)
        this.log.warn(
          { backlog: this.queue.length, dropped: this.dropped },
          "follow-up backlog full: left to the maintenance sweep",
        );
      return;
    }
    this.queue.push({ name, task });
    setImmediate(() => this.next());
  }

  /** Tasks waiting for a slot (a measure of backlog). */
  get backlog(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued or running, including tasks started by tasks. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private next(): void {
    while (this.active < this.concurrency && this.queue.length) {
      const { name, task } = this.queue.shift() as { name: string; task: () => Promise<unknown> };
      this.active++;
      task()
        .catch((error: unknown) => this.log.error({ err: error, task: name }, `${name} failed`))
        .finally(() => {
          this.active--;
          this.next();
          if (this.active === 0 && this.queue.length === 0) for (const wake of this.waiters.splice(0)) wake();
        });
    }
  }
}
