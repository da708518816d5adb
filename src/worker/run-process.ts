import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface RunProcessOptions {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Past this, the whole process group gets SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs: number;
  killGraceMs: number;
  /** Aborting stops the process group the same way (cancellation, shutdown). */
  signal: AbortSignal;
  onLine(stream: "stdout" | "stderr", line: string): void;
}

export interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why labelrun stopped it, if it did. */
  stoppedBy: "timeout" | "abort" | null;
  /** Set when the command could not be started at all (not found, not executable). */
  spawnError: Error | null;
}

/** How the worker starts an agent; tests and the worker share the real one. */
export type ProcessRunner = (options: RunProcessOptions) => Promise<ProcessOutcome>;

/**
 * Spawns the command without a shell, as the leader of its own process group,
 * so stopping it stops everything it forked too.
 */
export const runProcess: ProcessRunner = (options) =>
  new Promise((resolve) => {
    const [command, ...args] = options.argv;
    let stoppedBy: ProcessOutcome["stoppedBy"] = null;
    let spawnError: Error | null = null;
    const child = spawn(command ?? "", args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: "timeout" | "abort") => {
      if (stoppedBy) return;
      stoppedBy = why;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), options.killGraceMs);
    };
    const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
    const onAbort = () => stop("abort");
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });

    let openStreams = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    const finish = () => {
      if (openStreams > 0 || !exit) return;
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ exitCode: exit.code, signal: exit.signal, stoppedBy, spawnError });
    };
    for (const [stream, readable] of [
      ["stdout", child.stdout],
      ["stderr", child.stderr],
    ] as const) {
      const lines = createInterface({ input: readable, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on("line", (line) => options.onLine(stream, line));
      lines.on("close", () => {
        openStreams--;
        finish();
      });
    }
    child.on("error", (error) => {
      // Could not start (command not found, not executable): no exit event follows.
      spawnError = error;
      if (child.pid === undefined) {
        exit = { code: null, signal: null };
        finish();
      }
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // The leader is gone: what it forked goes too, which also closes the pipes they held.
      killGroup("SIGKILL");
      finish();
    });
  });
