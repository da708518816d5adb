import { execFile } from "node:child_process";

/**
 * Bytes a folder holds on disk (`du`, one file system, symlinks not followed),
 * measured in a child process so a workspace of a million files never blocks
 * the worker; null when it cannot be measured in time.
 */
export function diskUsage(dir: string, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve) => {
    execFile("du", ["-s", "-x", "-B1", dir], { timeout: timeoutMs }, (_error, stdout) => {
      // du exits non-zero for a file removed while it counts; its total still stands.
      const bytes = Number(stdout.split(/\s/)[0]);
      resolve(Number.isFinite(bytes) && stdout.trim() ? bytes : null);
    });
  });
}
