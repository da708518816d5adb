import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** A word no other process has in its command line: agents started with it can be found from the host. */
export function uniqueMarker(prefix = "labelrun-marker"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/**
 * Host processes whose command line holds `marker`, seen through the host's
 * /proc — sandboxed agents included, whatever their own PID namespace says.
 */
export function pidsWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) found.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Waits (polling, bounded) until `check` holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  for (const started = Date.now(); !(await check()); ) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
