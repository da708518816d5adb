import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { announceWaiting } from "../jobs/announce-changes.js";
import { type Database, type DatabaseHandle, schema } from "./client.js";
import { lockDataDirectory } from "./pglite-lock.js";

export interface OpenPGliteOptions {
  /** Folder for the data files; omit for an in-memory database (tests). */
  dataDir?: string;
  /** An already started instance (tests reuse one to save the 3–5 s start). */
  instance?: PGlite;
}

/** Opens the embedded PGlite database (single process, single session). */
export async function openPGlite(options: OpenPGliteOptions = {}): Promise<DatabaseHandle> {
  let release = () => {};
  let pg = options.instance;
  if (!pg) {
    if (options.dataDir) {
      mkdirSync(options.dataDir, { recursive: true });
      // Two processes on one data directory both open, and the second one's
      // writes are silently lost: refuse the second one instead.
      release = lockDataDirectory(options.dataDir);
    }
    pg = options.dataDir ? new PGlite(`${options.dataDir}/pg`) : new PGlite();
    await pg.waitReady;
  }
  const instance = pg;
  const db = drizzle(instance, { schema }) as unknown as Database;
  return {
    db,
    driver: "pglite",
    async listen(channel, onPayload) {
      return instance.listen(channel, onPayload);
    },
    async close() {
      // The notices of changes already made go out before the database goes.
      await announceWaiting(db);
      if (!options.instance) await instance.close();
      release();
    },
  };
}
