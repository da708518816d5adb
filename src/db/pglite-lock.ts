import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isProcessAlive } from "../process-alive.js";

/** Raised when another live process already uses the embedded database folder. */
export class DataDirectoryInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}. PGlite allows one process per folder: stop that process, or set DATABASE_URL to share a PostgreSQL server between processes.`,
    );
    this.name = "DataDirectoryInUseError";
  }
}

/**
 * Takes the folder's lock file (holding our pid) or throws if a live process
 * holds it. A lock left by a dead process is taken over. Returns the release.
 */
export function lockDataDirectory(dataDir: string, pid = process.pid): () => void {
  const path = join(dataDir, "labelrun.lock");
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder !== pid && isProcessAlive(holder)) {
        throw new DataDirectoryInUseError(dataDir, holder);
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not take the lock file ${path}`);
}
