import type { Logger } from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { GitHubAppCredentials } from "../config/env.js";
import { fetchWithTimeout } from "../github/fetch-with-timeout.js";
import { githubMetricsPlugin } from "../github/octokit-metrics-plugin.js";

/** How long one GitHub API request may take. */
const GITHUB_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Probot's Octokit, told never to wait a rate limit out: its own handlers
 * sleep until the reset (27 s to an hour) while holding a dispatch, a worker
 * slot or the maintenance tick. Here the request fails at once with GitHub's
 * answer, and the caller defers the job until the reset (classify-error.ts,
 * settle-policy.ts). Throttling's pacing of writes stays; retries skip 429.
 */
export const LabelrunOctokit = ProbotOctokit.plugin(githubMetricsPlugin as never).defaults(
  // biome-ignore lint/suspicious/noExplicitAny: Octokit types its constructor options loosely itself
  (options: Record<string, any>) => ({
    ...options,
    throttle: {
      ...options.throttle,
      onRateLimit: () => false,
      onSecondaryRateLimit: () => false,
    },
    retry: { ...options.retry, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
  }),
);

/** The one place a Probot instance is built from the App's credentials. */
export function makeProbot(github: GitHubAppCredentials, log: Logger): Probot {
  return new Probot({
    appId: github.appId,
    privateKey: github.privateKey,
    secret: github.webhookSecret,
    baseUrl: github.baseUrl,
    log: log.child({ name: "probot" }),
    Octokit: LabelrunOctokit,
    // No GitHub request may hang forever (a stuck call would hold a follow-up slot or a worker).
    request: { fetch: fetchWithTimeout(GITHUB_REQUEST_TIMEOUT_MS) },
  });
}
