import type { ProbotOctokit } from "probot";
import { REPO_CONFIG_PATH } from "../config/repo-config.js";
import type { GitHubPort } from "./port.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** The GitHub port over Probot's Octokit, authenticated per installation (`probot.auth(id)`). */
export function octokitPort(authenticate: (installationId: number) => Promise<Octokit>): GitHubPort {
  return {
    async getRepoConfig({ installationId, owner, repo }) {
      const octokit = await authenticate(installationId);
      const { config, files } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH });
      return files.some((file) => file.config !== null) ? config : null;
    },
    async getTarget({ installationId, owner, repo, number }) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
      return { state: data.state === "closed" ? "closed" : "open", title: data.title, url: data.html_url };
    },
    async createComment({ installationId, owner, repo, number }, body) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
      return { id: data.id };
    },
    async updateComment({ installationId, owner, repo }, commentId, body) {
      const octokit = await authenticate(installationId);
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    async removeLabel({ installationId, owner, repo, number }, label) {
      const octokit = await authenticate(installationId);
      try {
        await octokit.rest.issues.removeLabel({ owner, repo, issue_number: number, name: label });
      } catch (error) {
        // Already removed (by a person, or a concurrent job end): the goal is met.
        if ((error as { status?: number }).status !== 404) throw error;
      }
    },
    async ensureLabel({ installationId, owner, repo }, label) {
      const octokit = await authenticate(installationId);
      try {
        await octokit.rest.issues.createLabel({ owner, repo, ...label });
      } catch (error) {
        // 422 "already_exists": a maintainer made it first, which is fine.
        if ((error as { status?: number }).status !== 422) throw error;
      }
    },
  };
}
