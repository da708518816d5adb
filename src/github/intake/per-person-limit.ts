import { setNewest } from "../../newest-first-map.js";

/**
 * At most `count` events per key in a sliding `windowMs`, remembering at most
 * `maxKeys` keys (the least recently seen are forgotten first).
 */
export class PerPersonLimit {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Records an event for `key` at `at`; false when the key is over its limit (nothing is recorded then). */
  allow(key: string, at: Date): boolean {
    const now = at.getTime();
    const recent = (this.seen.get(key) ?? []).filter((t) => now - t < this.windowMs);
    this.seen.delete(key);
    if (recent.length >= this.count) {
      this.seen.set(key, recent);
      return false;
    }
    recent.push(now);
    setNewest(this.seen, key, recent, this.maxKeys);
    return true;
  }
}
