import type { ProbotOctokit } from "probot";
import { MAX_REPO_CONFIG_BYTES, REPO_CONFIG_PATH, RepoConfigFileError } from "../config/repo-config.js";
import { DEFAULT_YAML_LIMITS, type YamlLimits, yamlProblem } from "../config/yaml-check.js";
import type { CheckRunWrite, GitHubPort, Permission, WorkerGitHubPort } from "./port.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/**
 * The GitHub port over Probot's Octokit, authenticated per installation
 * (`probot.auth(id)`), and as the app itself (`probot.auth()`) for tokens.
 */
export function octokitPort(
  authenticate: (installationId?: number) => Promise<Octokit>,
  /** How untrusted repository configs are read (tests lower the limits). */
  yamlLimits: YamlLimits = DEFAULT_YAML_LIMITS,
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
    async createCheckRun({ installationId, owner, repo }, check) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.checks.create({
        owner,
        repo,
        head_sha: check.headSha,
        ...checkRunFields(check),
      });
      return { id: data.id };
    },
    async updateCheckRun({ installationId, owner, repo }, checkRunId, check) {
      const octokit = await authenticate(installationId);
      await octokit.rest.checks.update({ owner, repo, check_run_id: checkRunId, ...checkRunFields(check) });
    },
    async getPullHeadSha({ installationId, owner, repo, number }) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
      return data.head.sha;
    },
    async listReviewThreadStarts({ installationId, owner, repo, number }, reviewId) {
      const octokit = await authenticate(installationId);
      const { data } = await octokit.rest.pulls.listCommentsForReview({
        owner,
        repo,
        pull_number: number,
        review_id: reviewId,
        per_page: 100,
      });
      return data.filter((c) => !(c as { in_reply_to_id?: number }).in_reply_to_id).map((c) => c.id);
    },
    async replyInThread({ installationId, owner, repo, number }, commentId, body) {
      const octokit = await authenticate(installationId);
      await octokit.rest.pulls.createReplyForReviewComment({
        owner,
        repo,
        pull_number: number,
        comment_id: commentId,
        body,
      });
    },
    async getReviewFeedback({ installationId, owner, repo, number }, trigger, since) {
      const octokit = await authenticate(installationId);
      type Raw = {
        id: number;
        user?: { login?: string } | null;
        path: string;
        line?: number | null;
        side?: string | null;
        diff_hunk: string;
        body: string;
      };
      const comment = (c: Raw) => ({
        id: c.id,
        author: c.user?.login ?? null,
        path: c.path,
        line: c.line ?? null,
        side: c.side ?? null,
        diffHunk: c.diff_hunk,
        body: c.body,
      });
      const comments: ReturnType<typeof comment>[] = [];
      if (trigger.reviewId !== null) {
        const { data } = await octokit.rest.pulls.listCommentsForReview({
          owner,
          repo,
          pull_number: number,
          review_id: trigger.reviewId,
          per_page: 100,
        });
        comments.push(...data.map((c) => comment(c as Raw)));
      } else if (trigger.inThread && trigger.commentId !== null) {
        const { data } = await octokit.rest.pulls.getReviewComment({ owner, repo, comment_id: trigger.commentId });
        comments.push(comment(data as Raw));
      }
      const { data: conversation } = await octokit.rest.issues.listComments({
        owner,
        repo,
        issue_number: number,
        per_page: 100,
        ...(since ? { since: since.toISOString() } : {}),
      });
      // Resolution is only in GraphQL (https://docs.github.com/en/graphql/reference/objects#pullrequestreviewthread).
      const threads = await octokit.graphql<{
        repository: {
          pullRequest: {
            reviewThreads: {
              nodes: Array<{
                isResolved: boolean;
                isOutdated: boolean;
                path: string;
                line: number | null;
                comments: {
                  nodes: Array<{ databaseId: number | null; author: { login: string } | null; body: string }>;
                };
              }>;
            };
          } | null;
        } | null;
      }>(
        `query($owner: String!, $repo: String!, $number: Int!) {
          repository(owner: $owner, name: $repo) {
            pullRequest(number: $number) {
              reviewThreads(first: 100) {
                nodes { isResolved isOutdated path line comments(first: 20) { nodes { databaseId author { login } body } } }
              }
            }
          }
        }`,
        { owner, repo, number },
      );
      const unresolvedThreads = (threads.repository?.pullRequest?.reviewThreads.nodes ?? [])
        .filter((thread) => !thread.isResolved)
        .map((thread) => ({
          path: thread.path,
          line: thread.line,
          outdated: thread.isOutdated,
          comments: thread.comments.nodes.map((c) => ({
            id: c.databaseId,
            author: c.author?.login ?? null,
            body: c.body,
          })),
        }));
      return {
        unresolvedThreads,
        comments,
        conversation: conversation.map((c) => ({
          id: c.id,
          author: c.user?.login ?? null,
          body: c.body ?? "",
          createdAt: c.created_at,
        })),
      };
    },
    async getRepoConfig({ installationId, owner, repo }) {
      const octokit = await authenticate(installationId);
      // Each file the config plugin reads (the repository's, what it `_extends`) is checked for
      // size before the plugin parses it, and read first in a worker thread with a time limit: the
      // plugin parses on the event loop only what is known to parse fast and stay small.
      octokit.hook.after("request", async (response) => {
        const { data, url } = response as { data: unknown; url: string };
        if (!url.includes("/contents/") || typeof data !== "string") return;
        const bytes = Buffer.byteLength(data);
        if (bytes > MAX_REPO_CONFIG_BYTES) {
          throw new RepoConfigFileError(
            `${REPO_CONFIG_PATH} (or a file it extends) is ${bytes} bytes; labelrun reads at most ${MAX_REPO_CONFIG_BYTES}`,
          );
        }
        const problem = await yamlProblem(data, yamlLimits);
        if (problem) throw new RepoConfigFileError(`${REPO_CONFIG_PATH} (or a file it extends): ${problem}`);
      });
      try {
        const { config, files } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH });
        return files.some((file) => file.config !== null) ? config : null;
      } catch (error) {
        throw asConfigFileError(error);
      }
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
    async addReaction({ installationId, owner, repo }, commentId, reaction, inThread = false) {
      const octokit = await authenticate(installationId);
      if (inThread) {
        await octokit.rest.reactions.createForPullRequestReviewComment({
          owner,
          repo,
          comment_id: commentId,
          content: reaction,
        });
        return;
      }
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

/**
 * The config plugin's own refusals (an `_extends` it cannot follow, a folder, an unsupported
 * extension, recursion) are the file's problem, not a passing fault: they say so once instead
 * of being fetched again every tick. Its invalid-YAML error keeps its cause for line and column.
 */
function asConfigFileError(error: unknown): unknown {
  if (error instanceof RepoConfigFileError) return error;
  const e = error as { message?: unknown; status?: unknown; cause?: unknown };
  if (e?.cause instanceof RepoConfigFileError) return e.cause;
  // An HTTP answer or a network fault: the caller sorts it (rate limit, transient, revoked).
  if (typeof e?.message !== "string" || e.status !== undefined) return error;
  // Invalid YAML: the caller reports it with the parser's line and column.
  if (!PLUGIN_ERROR.test(e.message) || e.message.includes("could not be parsed")) return error;
  return new RepoConfigFileError(`${REPO_CONFIG_PATH}: ${e.message.replace(PLUGIN_ERROR, "")}`);
}

const PLUGIN_ERROR = /^\[@probot\/octokit-plugin-config\]\s*/;

/** A check run's fields as GitHub's API names them. */
function checkRunFields(check: CheckRunWrite) {
  return {
    name: check.name,
    status: check.status,
    ...(check.conclusion ? { conclusion: check.conclusion } : {}),
    ...(check.detailsUrl ? { details_url: check.detailsUrl } : {}),
    external_id: check.externalId,
    output: check.output,
  };
}
