import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { ACTIVE_STATES } from "../jobs/states.js";
import { metrics, registry } from "../metrics.js";
import { type AdminAuth, denied } from "./auth.js";
import { type Handler, pathOf } from "./http-server.js";

/** `GET /metrics` in Prometheus' text format; behind the admin token unless METRICS_PUBLIC. */
export function metricsRoute(params: { db: Database; auth: AdminAuth; public: boolean }): Handler {
  return async (req, res) => {
    if (req.method !== "GET" || pathOf(req) !== "/metrics") return false;
    if (!params.public) {
      const access = await params.auth.check(req);
      if (!access.ok) {
        denied(res, access, false);
        return true;
      }
    }
    // Active jobs only: the partial indexes make this cheap however long the history is.
    const rows = await queryRows<{ status: string; job_type: string; n: string }>(
      params.db,
      sql`select status, job_type, count(*) as n from jobs
          where status in (${sql.join(
            ACTIVE_STATES.map((s) => sql`${s}::job_status`),
            sql`, `,
          )}) group by status, job_type`,
    );
    metrics.jobsByState.reset();
    for (const row of rows) metrics.jobsByState.set({ state: row.status, job_type: row.job_type }, Number(row.n));
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(await registry.metrics());
    return true;
  };
}
