import type { Logger } from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { GitHubAppCredentials } from "../config/env.js";
import { githubMetricsPlugin } from "../github/octokit-metrics-plugin.js";

/** The one place a Probot instance is built from the App's credentials. */
export function makeProbot(github: GitHubAppCredentials, log: Logger): Probot {
  return new Probot({
    appId: github.appId,
    privateKey: github.privateKey,
    secret: github.webhookSecret,
    baseUrl: github.baseUrl,
    log: log.child({ name: "probot" }),
    Octokit: ProbotOctokit.plugin(githubMetricsPlugin as never),
  });
}
