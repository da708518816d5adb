import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export interface RunningProcess {
  child: ChildProcess;
  /** Every log line so far, parsed where it is JSON. */
  lines: Array<Record<string, unknown>>;
  output(): string;
  /** Resolves with the first log line that matches. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs one of `src/bin/*` as a real process with exactly the given environment (plus PATH and HOME). */
const TSX_LOADER = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

export function spawnBin(bin: string, env: Record<string, string>, options: { cwd?: string } = {}): RunningProcess {
  // Absolute paths, so the process may run in another folder (where it reads and writes `.env`).
  const script = fileURLToPath(new URL(`../../src/bin/${bin}.ts`, import.meta.url));
  const child = spawn(process.execPath, ["--import", TSX_LOADER, script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let raw = "";
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer) => {
    raw += chunk.toString("utf8");
    for (const text of chunk.toString("utf8").split("\n")) {
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ msg: text });
      }
    }
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    lines,
    output: () => raw,
    async waitForLine(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found) return found;
        if (child.exitCode !== null)
          throw new Error(`process exited (${child.exitCode}) before the line came:\n${raw}`);
        if (Date.now() > deadline) throw new Error(`no matching line within ${timeoutMs} ms:\n${raw}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
