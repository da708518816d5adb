import type { Logger } from "pino";

/**
 * A signal that follows the first this closely is the same stop, relayed (a
 * runner such as tsx or a shell passing its group's signal on), not an
 * operator's second Ctrl-C.
 */
export const RELAY_WINDOW_MS = 1_000;

/** How a process stops on SIGTERM or SIGINT, from boot on. */
export interface Shutdown {
  /**
   * Aborted on the first signal: a start-up still under way starts nothing more (a worker that
   * has not started claiming does not start).
   */
  readonly signal: AbortSignal;
  /**
   * From now on a signal runs `stop` once, then exits; before, a signal exits at once. Set it
   * before starting anything a stop must undo (a worker's presence and claims), with a `stop` that
   * awaits the start under way and then undoes all of it.
   */
  stopWith(stop: () => Promise<void>): void;
}

/**
 * Handles SIGTERM and SIGINT (see Shutdown). A second signal within
 * RELAY_WINDOW_MS is a relayed copy and is ignored; one after it (an
 * operator's second Ctrl-C) exits at once.
 */
export function onShutdown(log: Logger, now: () => number = Date.now): Shutdown {
  const requested = new AbortController();
  let stoppingSince: number | null = null;
  let stop: (() => Promise<void>) | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      if (now() - stoppingSince < RELAY_WINDOW_MS) {
        log.info({ signal }, "the same stop, relayed: still shutting down gracefully");
        return;
      }
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stoppingSince = now();
    requested.abort();
    if (!stop) {
      log.info({ signal }, "stopped while starting: nothing had started that needs a graceful stop");
      process.exit(0);
    }
    log.info({ signal }, "shutting down");
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return {
    signal: requested.signal,
    stopWith(stopping) {
      if (stop) throw new Error("a process has one stop");
      stop = stopping;
    },
  };
}
