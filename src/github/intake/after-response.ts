import type { Logger } from "pino";
import { type Clock, systemClock, type Timer } from "../../clock.js";
import { isDatabaseUnreachable } from "../../db/unreachable.js";
import type { AfterResponse } from "./intake-deps.js";

/**
 * The webhook deliveries being answered right now. Follow-up work gives way to
 * them: while any is in flight, and until none has been for `quietMs` (between
 * the requests of a burst the count touches zero for moments), a queue runs
 * one task at a time, so CPU and database connections go to answering GitHub;
 * its full concurrency returns once the burst is over.
 */
export class DeliveriesInFlight {
  private count = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;
  private quiet: Timer | null = null;
  private readonly idleListeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly quietMs = 100,
  ) {}

  /** Counts a delivery until the returned `done` (called once; later calls do nothing). */
  start(): () => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count--;
      this.lastEnd = this.clock.now().getTime();
      if (this.count === 0 && !this.quiet) this.waitForQuiet(this.quietMs);
    };
  }

  get busy(): boolean {
    return this.count > 0 || this.clock.now().getTime() - this.lastEnd < this.quietMs;
  }

  onIdle(listener: () => void): void {
    this.idleListeners.add(listener);
  }

  private waitForQuiet(ms: number): void {
    this.quiet = this.clock.setTimeout(
      () => {
        this.quiet = null;
        if (this.count > 0) return; // the last `done` of this burst arms it again
        const left = this.lastEnd + this.quietMs - this.clock.now().getTime();
        if (left > 0) return this.waitForQuiet(left);
        for (const listener of this.idleListeners) listener();
      },
      ms,
      { background: true },
    );
  }
}

/** The first wait after a task found the database unreachable; it doubles up to the last. */
const FIRST_PAUSE_MS = 1_000;
const LAST_PAUSE_MS = 30_000;

/**
 * Runs follow-up work (dispatch, comment edits) once the webhook handler has
 * returned, so GitHub's delivery is answered without waiting on GitHub's API.
 * At most `concurrency` tasks run at once and the rest wait in order, so a
 * flood of triggers cannot starve the webhook handlers of CPU and database
 * connections; while deliveries are being answered (`yieldTo`), one at a
 * time. A failing task is logged once; whatever it left undone stays
 * in the database for the maintenance sweep (pending jobs, dirty comments).
 * A task that finds the database unreachable pauses the queue (1 s, doubling
 * to 30 s, one task at a time until one succeeds): the tasks behind it would
 * fail the same way, and a backlog of them once reconnected ~300 times a
 * second and logged each failure. `idle()` waits for everything queued
 * (tests, graceful shutdown).
 */
export class AfterResponseTasks implements AfterResponse {
  private readonly queue: Array<{ name: string; task: () => Promise<unknown> }> = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  private dropped = 0;
  /** While the database is unreachable: the wait before the next try, and its timer. */
  private pauseMs = 0;
  private paused: Timer | null = null;

  constructor(
    private readonly log: Logger,
    private readonly concurrency = 4,
    /** Beyond this backlog new tasks are dropped: what they would do is in the database for the sweep. */
    private readonly maxBacklog = 2000,
    private readonly yieldTo?: DeliveriesInFlight,
    private readonly clock: Clock = systemClock,
  ) {
    yieldTo?.onIdle(() => this.next());
  }

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
    if (this.paused) return;
    // After a pause, one at a time until a task gets through.
    const slots = this.yieldTo?.busy || this.pauseMs ? 1 : this.concurrency;
    while (this.active < slots && this.queue.length) {
      const { name, task } = this.queue.shift() as { name: string; task: () => Promise<unknown> };
      this.active++;
      task()
        .then(
          () => {
            this.pauseMs = 0;
          },
          (error: unknown) => {
            if (isDatabaseUnreachable(error)) this.pause(name, error);
            else this.log.error({ err: error, task: name }, `${name} failed`);
          },
        )
        .finally(() => {
          this.active--;
          this.next();
          if (this.active === 0 && this.queue.length === 0) for (const wake of this.waiters.splice(0)) wake();
        });
    }
  }

  private pause(name: string, error: unknown): void {
    if (this.paused) return; // tasks already running when it paused
    this.pauseMs = Math.min(LAST_PAUSE_MS, this.pauseMs ? this.pauseMs * 2 : FIRST_PAUSE_MS);
    this.log.warn(
      { err: error, task: name, backlog: this.queue.length, pauseMs: this.pauseMs },
      "follow-up work waits: the database is unreachable (what the task left undone is in the database for the sweep)",
    );
    this.paused = this.clock.setTimeout(
      () => {
        this.paused = null;
        this.next();
      },
      this.pauseMs,
      { background: true },
    );
  }
}
