import type { EventEmitter } from "node:events";
import type { Logger } from "pino";

/**
 * A promise nobody waited on that rejects is logged, not fatal: one agent's
 * odd output or one failed write must never end a process that runs the web
 * server, the other agents and the maintenance loop. (An uncaught exception
 * still ends the process: its state can no longer be trusted.)
 */
export function installCrashGuards(log: Logger, proc: EventEmitter = process): void {
  proc.on("unhandledRejection", (reason: unknown) => {
    log.error({ err: reason }, "a promise rejected with nobody waiting for it; labelrun keeps running");
  });
}
