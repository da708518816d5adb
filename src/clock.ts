/** A scheduled callback: cancel it, or let it not keep the process alive. */
export interface Timer {
  cancel(): void;
}

/**
 * Where time comes from, and the timers that run on it (heartbeats, polls,
 * the maintenance interval, grace periods). Only `src/bin/*` uses the system
 * clock; tests move a ManualClock by hand and its timers fire as it moves,
 * so the cron, timeouts and retries are tested without sleeping.
 */
export interface Clock {
  now(): Date;
  /** Calls `fn` once after `ms`. `background`: the timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number, options?: { background?: boolean }): Timer;
  /** Calls `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number, options?: { background?: boolean }): Timer;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms, options) {
    const handle = setTimeout(fn, ms);
    if (options?.background) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  setInterval(fn, ms, options) {
    const handle = setInterval(fn, ms);
    if (options?.background) handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};

interface ManualTimer {
  id: number;
  at: number;
  every: number | null;
  fn: () => void;
}

/**
 * A clock that stands still until told to move: for tests and scripted runs.
 * `advance` fires every timer that falls due on the way, in order, with the
 * clock set to each one's time.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private nextId = 1;
  constructor(start: Date | string = "2026-01-01T00:00:00Z") {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): Date {
    const until = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.current = Math.max(this.current, due.at);
      if (due.every === null) this.timers = this.timers.filter((t) => t !== due);
      else due.at += due.every;
      due.fn();
    }
    this.current = until;
    return this.now();
  }
  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, null);
  }
  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }
  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }
  private add(fn: () => void, ms: number, every: number | null): Timer {
    const timer: ManualTimer = { id: this.nextId++, at: this.current + Math.max(0, ms), every, fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }
}
