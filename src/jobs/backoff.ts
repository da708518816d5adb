/** Longest wait between attempts unless GitHub names a later time. */
export const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * Exponential backoff with jitter for attempt `n` (1-based): 30 s, 1 min,
 * 2 min, … capped at 60 minutes, each ±20 %. `random` is injectable for tests.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 30_000 * 2 ** Math.max(0, attempt - 1));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.min(MAX_BACKOFF_MS, jittered));
}
