import type { Logger } from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { GitHubAppCredentials } from "../config/env.js";
import { fetchWithTimeout } from "../github/fetch-with-timeout.js";
import { githubMetricsPlugin } from "../github/octokit-metrics-plugin.js";

/** How long one GitHub API request may take. */
const GITHUB_REQUEST_TIMEOUT_MS = 30_000;

/** The one place a Probot instance is built from the App's credentials. */
export function makeProbot(github: GitHubAppCredentials, log: Logger): Probot {
  return new Probot({
    appId: github.appId,
    privateKey: github.privateKey,
    secret: github.webhookSecret,
    baseUrl: github.baseUrl,
    log: log.child({ name: "probot" }),
    Octokit: ProbotOctokit.plugin(githubMetricsPlugin as never),
    // No GitHub request may hang forever (a stuck call would hold a follow-up slot or a worker).
    request: { fetch: fetchWithTimeout(GITHUB_REQUEST_TIMEOUT_MS) },
  });
}
