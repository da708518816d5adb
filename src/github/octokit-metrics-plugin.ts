import { metrics } from "../metrics.js";

interface HookedOctokit {
  hook: {
    after(
      name: "request",
      hook: (response: { status: number; headers: Record<string, unknown> }, options: { method: string }) => void,
    ): void;
    error(
      name: "request",
      hook: (
        error: { status?: number; response?: { headers?: Record<string, unknown> } },
        options: { method: string },
      ) => never,
    ): void;
  };
}

/** An Octokit plugin that counts GitHub requests and records the rate limit left (Probot's `Octokit.plugin`). */
export function githubMetricsPlugin(octokit: HookedOctokit): void {
  const record = (method: string, status: number, headers: Record<string, unknown> | undefined) => {
    metrics.githubRequests.inc({ method, status: String(status) });
    const remaining = Number(headers?.["x-ratelimit-remaining"]);
    if (Number.isFinite(remaining)) {
      metrics.githubRateLimitRemaining.set(
        { resource: String(headers?.["x-ratelimit-resource"] ?? "core") },
        remaining,
      );
    }
  };
  octokit.hook.after("request", (response, options) => record(options.method, response.status, response.headers));
  octokit.hook.error("request", (error, options) => {
    record(options.method, error.status ?? 0, error.response?.headers);
    throw error;
  });
}
