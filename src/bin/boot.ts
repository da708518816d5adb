import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { type Env, EnvError, loadEnv } from "../config/env.js";
import { type JobTypes, JobTypesFileError, loadJobTypes } from "../config/job-types.js";
import { createLogger } from "../config/logger.js";
import type { DatabaseHandle } from "../db/client.js";
import { migrate } from "../db/migrate.js";
import { openPGlite } from "../db/open-pglite.js";
import { openPostgres } from "../db/open-postgres.js";
import { DataDirectoryInUseError } from "../db/pglite-lock.js";
import { coerceError } from "../errors.js";
import { installCrashGuards } from "./crash-guards.js";
import { onShutdown, type Shutdown } from "./shutdown.js";

export interface Booted {
  env: Env;
  log: Logger;
  /** SIGTERM and SIGINT are handled from boot on; see Shutdown. */
  shutdown: Shutdown;
}

/**
 * Reads `.env` (if present) and the environment, builds the root logger and
 * handles SIGTERM and SIGINT from here on. An invalid environment ends the
 * process with every problem listed, not a stack trace.
 */
export function boot(processName: string): Booted {
  if (existsSync(".env")) process.loadEnvFile(".env");
  let env: Env;
  try {
    env = loadEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(`labelrun ${processName}: ${error.message}\nSee README.md, "Configuration".`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT }).child({ process: processName });
  installCrashGuards(log);
  return { env, log, shutdown: onShutdown(log) };
}

/** Opens the configured database: the PostgreSQL server, or the embedded PGlite folder. */
export async function openDatabase(env: Env, log: Logger, options: { migrate: boolean }): Promise<DatabaseHandle> {
  try {
    return await connect(env, log, options);
  } catch (error) {
    // A start-up that cannot reach its database says so in one line and exits;
    // the platform restarts it (no stack trace for an expected condition).
    const reason =
      error instanceof DataDirectoryInUseError
        ? error.message
        : `cannot open the database: ${coerceError(error).message}`;
    log.fatal({ err: error }, reason);
    process.exit(1);
  }
}

async function connect(env: Env, log: Logger, options: { migrate: boolean }): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  if (env.DATABASE_URL) {
    handle = openPostgres({ url: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, log });
    log.info({ driver: "postgres" }, "using the PostgreSQL server from DATABASE_URL");
  } else {
    const dataDir = resolve(env.LABELRUN_DATA_DIR);
    handle = await openPGlite({ dataDir });
    log.info({ driver: "pglite", dataDir }, "DATABASE_URL is unset: using the embedded PGlite database");
  }
  if (options.migrate) {
    await migrate(handle);
    log.info("database migrations are applied");
  }
  return handle;
}

/** Loads the operator's job-types file, or ends the process listing its problems. */
export function loadJobTypesOrExit(env: Env, log: Logger): JobTypes {
  try {
    const jobTypes = loadJobTypes(env.LABELRUN_CONFIG, { defaultTimeoutMinutes: env.DEFAULT_TIMEOUT_MINUTES });
    log.info({ jobTypes: [...jobTypes.byName.keys()], file: env.LABELRUN_CONFIG }, "job types loaded");
    return jobTypes;
  } catch (error) {
    if (!(error instanceof JobTypesFileError)) throw error;
    log.fatal(error.message);
    process.exit(1);
  }
}

/** A worker id that survives restarts of the same instance (host name plus a slot). */
export function defaultWorkerId(env: Env): string {
  return env.WORKER_ID ?? `${hostname()}:${process.pid}`;
}
