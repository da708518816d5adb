import type { TargetSnapshot } from "../db/schema.js";

/** A repository as labelrun addresses it through an installation. */
export interface RepoRef {
  installationId: number;
  owner: string;
  repo: string;
}

export interface IssueRef extends RepoRef {
  number: number;
}

export interface TargetState {
  state: "open" | "closed";
  title: string;
  url: string;
  /** Who opened the issue/PR. */
  author: string | null;
}

/** A repository permission as GitHub's collaborator-permission endpoint names it. */
export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";
export const WRITE_PERMISSIONS: ReadonlySet<Permission> = new Set(["admin", "maintain", "write"]);

/** Reactions labelrun puts on a command comment: taken, done, refused. */
export type Reaction = "eyes" | "+1" | "confused";

export interface LabelSpec {
  name: string;
  color: string;
  description: string;
}

/**
 * What labelrun asks of GitHub, as plain values. The real implementation is
 * Octokit from Probot (`octokit-port.ts`); tests drive it through nock.
 */
export interface GitHubPort {
  /** The parsed `.github/labelrun.yml` (with `_extends` and the org `.github` repository), or null. */
  getRepoConfig(ref: RepoRef): Promise<unknown>;
  getTarget(ref: IssueRef): Promise<TargetState>;
  createComment(ref: IssueRef, body: string): Promise<{ id: number }>;
  updateComment(ref: RepoRef, commentId: number, body: string): Promise<void>;
  /** Creates a check run on a commit; returns its id. */
  createCheckRun(ref: RepoRef, check: CheckRunWrite & { headSha: string }): Promise<{ id: number }>;
  updateCheckRun(ref: RepoRef, checkRunId: number, check: CheckRunWrite): Promise<void>;
  /** The head commit of a pull request (for a check run when the trigger did not say). */
  getPullHeadSha(ref: IssueRef): Promise<string>;
  /** The ids of a review's comments that open a thread (not replies), at most 100. */
  listReviewThreadStarts(ref: IssueRef, reviewId: number): Promise<number[]>;
  /** Replies in the review thread of a pull request review comment. */
  replyInThread(ref: IssueRef, commentId: number, body: string): Promise<void>;
  removeLabel(ref: IssueRef, label: string): Promise<void>;
  /** Creates a label; one that already exists is fine. */
  ensureLabel(ref: RepoRef, label: LabelSpec): Promise<void>;
  /** A user's permission on the repository (404: none). */
  getPermission(ref: RepoRef, username: string): Promise<Permission>;
  /** A reaction on a comment of the conversation, or (`inThread`) on a review comment on the diff. */
  addReaction(ref: RepoRef, commentId: number, reaction: Reaction, inThread?: boolean): Promise<void>;
}

export function splitFullName(fullName: string): { owner: string; repo: string } {
  const [owner = "", repo = ""] = fullName.split("/");
  return { owner, repo };
}

/** What an agent gets to read about its issue/PR (the context file); a job keeps it from its trigger's webhook. */
export type TargetDetails = TargetSnapshot;

/** An installation token limited to some repositories. */
export interface ScopedToken {
  token: string;
  expiresAt: Date;
}

/** An installation token for an agent: these repositories only, these permissions only. */
export interface TokenRequest {
  installationId: number;
  repositoryIds: number[];
  /** GitHub's permission names and levels (`contents: write`); none: the App's own. */
  permissions?: Readonly<Record<string, "read" | "write">>;
}

/** What the worker asks of GitHub, beside the port above. */
export interface WorkerGitHubPort {
  /** A token for exactly these repositories and permissions (`repository_ids`, `permissions` on the token request). */
  createScopedToken(request: TokenRequest): Promise<ScopedToken>;
  /** Revokes an installation token (`DELETE /installation/token`, authenticated with it). */
  revokeToken(token: string): Promise<void>;
  getTargetDetails(ref: IssueRef, kind: "issue" | "pull_request"): Promise<TargetDetails>;
  /**
   * What a review round works from: the comments of the review that started it (or the review
   * comment a `/labelrun revise` was written in), and the pull request's conversation since `since`.
   * At most 100 of each.
   */
  getReviewFeedback(
    ref: IssueRef,
    trigger: { reviewId: number | null; commentId: number | null; inThread: boolean },
    since: Date | null,
  ): Promise<ReviewFeedback>;
}

/** What a check run says (https://docs.github.com/en/rest/checks/runs). */
export interface CheckRunWrite {
  name: string;
  status: "queued" | "in_progress" | "completed";
  conclusion?: "success" | "failure" | "cancelled" | "timed_out" | "action_required" | "neutral";
  detailsUrl?: string;
  externalId: string;
  output: { title: string; summary: string };
}

/** A comment on the diff, as a review round's agent sees it. */
export interface ReviewComment {
  id: number;
  author: string | null;
  path: string;
  line: number | null;
  side: string | null;
  diffHunk: string;
  body: string;
}

export interface ReviewFeedback {
  comments: ReviewComment[];
  conversation: Array<{ id: number; author: string | null; body: string; createdAt: string }>;
  /** The pull request's review threads not resolved yet (GitHub's GraphQL `reviewThreads`). */
  unresolvedThreads: Array<{
    path: string;
    line: number | null;
    outdated: boolean;
    comments: Array<{ id: number | null; author: string | null; body: string }>;
  }>;
}

/** One entry of `GET /app/hook/deliveries`. */
export interface HookDelivery {
  id: number;
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  statusCode: number;
  event: string;
}

/** GitHub's hook deliveries API, authenticated as the app (JWT). */
export interface DeliveriesPort {
  /** A page of deliveries, newest first, and the cursor of the next page (null: last page). */
  list(cursor: string | null): Promise<{ deliveries: HookDelivery[]; next: string | null }>;
  redeliver(deliveryId: number): Promise<void>;
}
