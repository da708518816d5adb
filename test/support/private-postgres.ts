import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A PostgreSQL server of the test's own (initdb in a temporary folder, its
 * own port), for tests that stop or restart the server: restarting the shared
 * one would break the test files running beside it. Needs the server binaries
 * and, when run as root, the `postgres` user to own the data folder.
 */
export function privatePostgres(port: number) {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort() : [];
  const bin = versions.length ? join("/usr/lib/postgresql", versions.at(-1) as string, "bin") : null;
  const dir = mkdtempSync(join(tmpdir(), "labelrun-pg-"));
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    if (!bin) throw new Error("no PostgreSQL server binaries");
    const command = join(bin, tool);
    if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "pipe" });
    else execFileSync(command, args, { stdio: "pipe" });
  };
  const ctl = (action: string) =>
    run("pg_ctl", [
      action,
      "-D",
      join(dir, "data"),
      "-w",
      "-t",
      "30",
      "-m",
      "fast",
      "-l",
      join(dir, "log"),
      "-o",
      `-p ${port} -k ${dir} -h 127.0.0.1`,
    ]);
  return {
    available: bin !== null,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    init() {
      if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
      run("initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync"]);
      ctl("start");
    },
    restart: () => ctl("restart"),
    stop: () => ctl("stop"),
    start: () => ctl("start"),
  };
}
