import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";

/**
 * One of the Procfile's lines, started as a platform starts it: `sh -c` in a process group of
 * its own, with exactly the given environment (plus PATH and HOME).
 */
export function startFromProcfile(process_: "release" | "web" | "worker", env: Record<string, string>) {
  const line = readFileSync("Procfile", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${process_}:`));
  if (!line) throw new Error(`the Procfile has no ${process_} line`);
  const child = spawn("sh", ["-c", line.slice(process_.length + 1).trim()], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, output: () => output };
}
