import type { ProbotOctokit } from "probot";
import { REPO_CONFIG_PATH } from "../config/repo-config.js";
import type { GitHubPort, Permission, WorkerGitHubPort } from "./port.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/**
 * The GitHub port over Probot's Octokit, authenticated per installation
 * (`probot.auth(id)`), and as the app itself (`probot.auth()`) for tokens.
 */
export function octokitPort(
  authenticate: (installationId?: number) => Promise<Octokit>,
): GitHubPort & WorkerGitHubPort {
  return {
    async createScopedToken({ installationId, repositoryIds, permissions }) {
      const app = await authenticate();
      const { data } = await app.rest.apps.createInstallationAccessToken({
        installation_id: installationId,
        repository_ids: repositoryIds,
        ...(permissions ? { permissions: permissions as Record<string, "read" | "write"> } : {}),
      });
      return { token: data.token, expiresAt: new Date(data.expires_at) };
    },
    async revokeToken(token) {
      // Authenticated with the token itself, which Octokit's App auth would replace: a plain request.
      const app = await authenticate();
      const baseUrl = app.request.endpoint.DEFAULTS.baseUrl;
      const response = await fetch(`${baseUrl}/installation/token`, {
        method: "DELETE",
        headers: {
          authorization: `token ${token}`,
          accept: "application/vnd.github+json",
          "user-agent": "labelrun",
          "x-github-api-version": "2022-11-28",
        },
        signal: AbortSignal.timeout(30_000),
      });
      // 401: it had expired or was revoked already, which is the goal.
      if (!response.ok && response.status !== 401) throw new Error(`revoking the token: HTTP ${response.status}`);
    },
    async getTargetDetails({ installationId, owner, repo, number }, kind) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
      const details = {
        title: data.title,
        body: data.body ?? "",
        url: data.html_url,
        state: data.state === "closed" ? ("closed" as const) : ("open" as const),
        labels: data.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
        author: data.user?.login ?? null,
      };
      if (kind !== "pull_request") return details;
      const { data: pull } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
      return {
        ...details,
        head: { ref: pull.head.ref, sha: pull.head.sha },
        base: { ref: pull.base.ref, sha: pull.base.sha },
      };
    },
    async getRepoConfig({ installationId, owner, repo }) {
      const octokit = await authenticate(installationId);
      const { config, files } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH });
      return files.some((file) => file.config !== null) ? config : null;
    },
    async getTarget({ installationId, owner, repo, number }) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.issues.get({ owner, repo, issue_number: number });
      return {
        state: data.state === "closed" ? "closed" : "open",
        title: data.title,
        url: data.html_url,
        author: data.user?.login ?? null,
      };
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
    async getPermission({ installationId, owner, repo }, username) {
      const octokit = await authenticate(installationId);
      try {
        const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
        // role_name knows "maintain" and "triage"; permission folds them into write/read.
        const role = (data as { role_name?: string }).role_name;
        return (
          ["admin", "maintain", "write", "triage", "read"].includes(role ?? "") ? role : data.permission
        ) as Permission;
      } catch (error) {
        if ((error as { status?: number }).status === 404) return "none";
        throw error;
      }
    },
    async addReaction({ installationId, owner, repo }, commentId, reaction) {
      const octokit = await authenticate(installationId);
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content: reaction });
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
