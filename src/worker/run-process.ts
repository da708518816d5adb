import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { coerceError } from "../errors.js";
import { readLines } from "./output-lines.js";

export interface RunProcessOptions {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Past this, the agent gets SIGTERM, then everything SIGKILL after `killGraceMs`. */
  timeoutMs: number;
  killGraceMs: number;
  /** Aborting stops the process group the same way (cancellation, shutdown). */
  signal: AbortSignal;
  onLine(stream: "stdout" | "stderr", line: string): void;
  /**
   * The started process is a supervisor (bubblewrap) whose death ends the whole sandbox: a polite
   * stop signals the processes under it and spares it, so the agent gets its grace period.
   */
  supervised?: boolean;
  /** Longest line kept; the rest of a longer line is counted and dropped. */
  maxLineBytes?: number;
  /**
   * Sets up what the started process waits for (the sandbox's network), given the child with two
   * extra pipes as fds 3 and 4; returns what undoes it when the process ends. If it fails, the
   * process is stopped and the run ends as if the command could not start.
   */
  attach?: (child: ChildProcess) => Promise<() => void>;
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

/** Longest line of agent output kept (what the job log stores of one line). */
export const MAX_LINE_BYTES = 8 * 1024;

/**
 * Spawns the command without a shell, as the leader of its own process group
 * (and session, so it has no terminal), so stopping it stops everything it
 * forked too. Output is read as bytes, line by line, never without bound.
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
      stdio: options.attach ? ["ignore", "pipe", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    });
    // The sandbox's side pipes (fds 3 and 4) end with it, often with ECONNRESET: that is no
    // error of the run's, and an 'error' event without a listener would end the whole process.
    for (const extra of child.stdio.slice(3)) extra?.on("error", () => {});
    let detach = () => {};
    if (options.attach && child.pid !== undefined) {
      options.attach(child).then(
        (undo) => {
          if (exit) undo();
          else detach = undo;
        },
        (error: unknown) => {
          spawnError = coerceError(error);
          killGroup("SIGKILL");
        },
      );
    }
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
      if (options.supervised && child.pid !== undefined) signalGroupBelow(child.pid, "SIGTERM");
      else killGroup("SIGTERM");
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
      detach();
      resolve({ exitCode: exit.code, signal: exit.signal, stoppedBy, spawnError });
    };
    for (const [stream, readable] of [
      ["stdout", child.stdout],
      ["stderr", child.stderr],
    ] as const) {
      readLines(
        readable as Readable,
        options.maxLineBytes ?? MAX_LINE_BYTES,
        (line) => options.onLine(stream, line),
        () => {
          openStreams--;
          finish();
        },
      );
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

/**
 * SIGTERM to every process of the group led by `leader` except bubblewrap's
 * own (the leader and a nested one: their death would SIGKILL the agent at
 * once, through `--die-with-parent`), so the agent gets its grace period.
 */
function signalGroupBelow(leader: number, signal: NodeJS.Signals): void {
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === leader) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "bwrap") continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp …
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp === leader) process.kill(pid, signal);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
}
