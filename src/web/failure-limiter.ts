import type { Clock } from "../clock.js";
import { setNewest } from "../newest-first-map.js";

/** How the slow-down grows: free tries, then each failure adds a wait, doubling up to a cap. */
export interface SlowDownPolicy {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A wait longer than this is answered 429 at once instead of being held open. */
  maxWaitMs: number;
  /** Failures are forgotten this long after the last one. */
  forgetAfterMs: number;
  /** Keys remembered at most (the oldest are forgotten first). */
  maxKeys: number;
}

export const DEFAULT_SLOW_DOWN: SlowDownPolicy = {
  freeFailures: 5,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxWaitMs: 30_000,
  forgetAfterMs: 15 * 60_000,
  maxKeys: 10_000,
};

/**
 * Failed sign-ins, bearer tokens and session cookies, per remote address: after a
 * few free failures each further failure from that address waits its turn, a
 * little longer each time, so guessing is slow however many requests run at
 * once — but the real admin's correct token is never refused or delayed (a
 * slow-down, not a lockout: behind a proxy everyone shares one address, so a
 * success does not reset the count either).
 */
export class FailureLimiter {
  private readonly entries = new Map<string, { failures: number; nextAt: number; lastAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: SlowDownPolicy = DEFAULT_SLOW_DOWN,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ) {}

  /** Records a failure and waits this address's turn; false when the wait would be too long (answer 429). */
  async failed(key: string): Promise<boolean> {
    const now = this.clock.now().getTime();
    let entry = this.entries.get(key);
    if (entry && now - entry.lastAt > this.policy.forgetAfterMs) entry = undefined;
    entry = entry ?? { failures: 0, nextAt: now, lastAt: now };
    entry.failures++;
    entry.lastAt = now;
    // Re-inserted: the map's order is the forgetting order.
    setNewest(this.entries, key, entry, this.policy.maxKeys);
    const over = entry.failures - this.policy.freeFailures;
    if (over <= 0) return true;
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** Math.min(over - 1, 20));
    const startAt = Math.max(now, entry.nextAt);
    if (startAt + delay - now > this.policy.maxWaitMs) return false;
    entry.nextAt = startAt + delay;
    await this.sleep(entry.nextAt - now);
    return true;
  }

  /** Addresses remembered now (bounded by `maxKeys`). */
  get size(): number {
    return this.entries.size;
  }
}
