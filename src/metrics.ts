import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The process's Prometheus metrics. One registry per process, as prom-client
 * intends; each process exports what it did (sum across instances in
 * queries). Job counts by state come from the database at scrape time.
 */
export const registry = new Registry();
// The process's own figures too (CPU, RSS, heap, event-loop lag, open handles), as `labelrun_process_*` etc.
collectDefaultMetrics({ register: registry, prefix: "labelrun_" });

const durationBuckets = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 2700, 3600];

export const metrics = {
  transitions: new Counter({
    name: "labelrun_job_transitions_total",
    help: "Job status changes made by this process",
    labelNames: ["from", "to"] as const,
    registers: [registry],
  }),
  queueWait: new Histogram({
    name: "labelrun_job_queue_wait_seconds",
    help: "From queued to claimed",
    buckets: durationBuckets,
    registers: [registry],
  }),
  runDuration: new Histogram({
    name: "labelrun_job_run_duration_seconds",
    help: "From claimed to the end of the run",
    labelNames: ["outcome"] as const,
    buckets: durationBuckets,
    registers: [registry],
  }),
  webhooks: new Counter({
    name: "labelrun_webhook_deliveries_total",
    help: "Webhook deliveries handled, by event and outcome (handled, ignored, malformed, error)",
    labelNames: ["event", "outcome"] as const,
    registers: [registry],
  }),
  githubRequests: new Counter({
    name: "labelrun_github_requests_total",
    help: "Requests made to GitHub's API, by method and status",
    labelNames: ["method", "status"] as const,
    registers: [registry],
  }),
  githubRateLimitRemaining: new Gauge({
    name: "labelrun_github_rate_limit_remaining",
    help: "x-ratelimit-remaining of the latest GitHub response, by rate-limit resource",
    labelNames: ["resource"] as const,
    registers: [registry],
  }),
  agentExits: new Counter({
    name: "labelrun_agent_exits_total",
    help: "Agent processes that ended, by exit code (or signal, or timeout)",
    labelNames: ["code"] as const,
    registers: [registry],
  }),
  sweepDuration: new Histogram({
    name: "labelrun_sweep_duration_seconds",
    help: "Duration of each maintenance sweep run by this process",
    labelNames: ["sweep"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
  usageJobs: new Gauge({
    name: "labelrun_month_jobs",
    help: "Jobs that reached the queue this calendar month (UTC), per installation (the jobs quota's count)",
    labelNames: ["installation"],
    registers: [registry],
  }),
  usageCostUsd: new Gauge({
    name: "labelrun_month_cost_usd",
    help: "Cost in USD of jobs that ended this calendar month (UTC), per installation (the cost quota's count)",
    labelNames: ["installation"],
    registers: [registry],
  }),
  jobsByState: new Gauge({
    name: "labelrun_jobs",
    help: "Active jobs by state and job type (from the database at scrape time)",
    labelNames: ["state", "job_type"] as const,
    registers: [registry],
  }),
};
