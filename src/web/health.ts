import type { Database } from "../db/client.js";
import { appliedMigrationCount } from "../db/migrate.js";
import { coerceError } from "../errors.js";
import { type Handler, pathOf, sendJson } from "./http-server.js";

/** `GET /healthz`: the process is up (no dependency checked). */
export const healthz: Handler = (req, res) => {
  if (req.method !== "GET" || pathOf(req) !== "/healthz") return false;
  sendJson(res, 200, { status: "ok" });
  return true;
};

/**
 * `GET /readyz`: the database answers and the migrations are applied. In a
 * process that runs a worker it also says which job types the worker runs and
 * why it refuses the others (no sandbox on this machine).
 */
export function readyz(params: {
  db: Database;
  expectedMigrations: number;
  worker?: () => unknown;
  /** True once the process is stopping: a load balancer is told to send no more. */
  draining?: () => boolean;
}): Handler {
  return async (req, res) => {
    if (req.method !== "GET" || pathOf(req) !== "/readyz") return false;
    if (params.draining?.()) {
      sendJson(res, 503, { status: "draining", reason: "this process is shutting down" });
      return true;
    }
    try {
      const applied = await appliedMigrationCount(params.db);
      if (applied < params.expectedMigrations) {
        sendJson(res, 503, {
          status: "not_ready",
          reason: `${applied} of ${params.expectedMigrations} migrations applied: run the release process (npm run release)`,
        });
        return true;
      }
      const worker = params.worker?.() ?? undefined;
      sendJson(res, 200, { status: "ready", migrations: applied, ...(worker ? { worker } : {}) });
    } catch (error) {
      sendJson(res, 503, { status: "not_ready", reason: `database unreachable: ${coerceError(error).message}` });
    }
    return true;
  };
}
