import { type Clock, systemClock } from "../clock.js";
import type { Database } from "../db/client.js";
import { countActiveJobs } from "../jobs/list-jobs.js";
import { usageThisMonth } from "../jobs/quota.js";
import { metrics, registry } from "../metrics.js";
import { type AdminAuth, denied } from "./auth.js";
import { type Handler, pathOf } from "./http-server.js";

/** `GET /metrics` in Prometheus' text format; behind the admin token unless METRICS_PUBLIC. */
export function metricsRoute(params: { db: Database; auth: AdminAuth; public: boolean; clock?: Clock }): Handler {
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
    const rows = await countActiveJobs(params.db);
    metrics.jobsByState.reset();
    for (const row of rows) metrics.jobsByState.set({ state: row.status, job_type: row.jobType }, row.count);
    const usage = await usageThisMonth(params.db, (params.clock ?? systemClock).now());
    metrics.usageJobs.reset();
    metrics.usageCostUsd.reset();
    for (const i of usage.installations) {
      metrics.usageJobs.set({ installation: String(i.installationId) }, i.jobs);
      metrics.usageCostUsd.set({ installation: String(i.installationId) }, i.costUsd);
    }
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(await registry.metrics());
    return true;
  };
}
