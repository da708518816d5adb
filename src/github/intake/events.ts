import type { TargetSnapshot } from "../../db/schema.js";
import type { TargetKind } from "../../jobs/states.js";

/** The parts of a webhook the intake needs, as plain checked values. */
export interface Sender {
  login: string;
  isBot: boolean;
}

export interface InstallationInfo {
  id: number;
  accountLogin: string;
  accountType: string;
}

export interface TargetEvent {
  deliveryId: string;
  installation: InstallationInfo;
  repositoryId: number;
  repositoryFullName: string;
  number: number;
  kind: TargetKind;
  title: string;
  url: string;
  state: "open" | "closed";
  sender: Sender;
  /** A pull request's head commit when the event says (its jobs' check runs go there). */
  headSha?: string;
  /** When the event showed the issue/PR open (its `updated_at`), if it did. */
  openAt?: Date;
  /** The issue/PR as the event showed it, when it showed all the worker needs. */
  snapshot?: TargetSnapshot;
}

export interface LabelEvent extends TargetEvent {
  label: string;
}

/** Thrown when a payload lacks what a handler needs; the handler logs and ignores it. */
export class MalformedPayloadError extends Error {
  constructor(what: string) {
    super(`the payload has no ${what}`);
    this.name = "MalformedPayloadError";
  }
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (!value || typeof value !== "object") throw new MalformedPayloadError(what);
  return value as Json;
}
/** A required string: non-empty, at most `max` characters (GitHub's own limits are far below). */
function string(value: unknown, what: string, max = 1_000): string {
  if (typeof value !== "string" || value === "" || value.length > max || value.includes("\u0000")) {
    throw new MalformedPayloadError(what);
  }
  return value;
}
/** An optional text a person wrote (title, comment): NUL replaced, cut at `max`. */
function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.slice(0, max).replaceAll("\u0000", "\uFFFD") : "";
}
/** A positive id or number; issue and PR numbers fit PostgreSQL's integer. */
function integer(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new MalformedPayloadError(what);
  }
  return value;
}
const MAX_TARGET_NUMBER = 2 ** 31 - 1;

export function readSender(payload: Json): Sender {
  return readUser(payload.sender, "sender");
}

/** A GitHub user object (`sender`, `comment.user`, `review.user`): its login, and whether it is a bot. */
function readUser(value: unknown, path: string): Sender {
  const user = object(value, path);
  const login = string(user.login, `${path}.login`, 100);
  return { login, isBot: user.type === "Bot" || login.endsWith("[bot]") };
}

export function readInstallation(payload: Json): InstallationInfo {
  const installation = object(payload.installation, "installation");
  const account = (installation.account ?? null) as Json | null;
  const repository = (payload.repository ?? null) as Json | null;
  const owner = (repository?.owner ?? null) as Json | null;
  return {
    id: integer(installation.id, "installation.id"),
    accountLogin: String(account?.login ?? owner?.login ?? "unknown"),
    accountType: String(account?.type ?? owner?.type ?? "User"),
  };
}

/** Reads an `issues.*` or `pull_request.*` payload. */
export function readTargetEvent(payload: Json, deliveryId: string): TargetEvent {
  const isPull = payload.pull_request !== undefined;
  const target = object(isPull ? payload.pull_request : payload.issue, isPull ? "pull_request" : "issue");
  const repository = object(payload.repository, "repository");
  return {
    deliveryId,
    installation: readInstallation(payload),
    repositoryId: integer(repository.id, "repository.id"),
    repositoryFullName: fullName(repository.full_name),
    number: integer(target.number, `${isPull ? "pull_request" : "issue"}.number`, MAX_TARGET_NUMBER),
    kind: isPull || (target.pull_request !== undefined && target.pull_request !== null) ? "pull_request" : "issue",
    title: text(target.title, 1_000),
    url: text(target.html_url, 1_000),
    state: target.state === "closed" ? "closed" : "open",
    sender: readSender(payload),
    ...headShaOf(target),
    ...openAtOf(target),
    ...snapshotOf(target, isPull),
  };
}

export function readLabelEvent(payload: Json, deliveryId: string): LabelEvent {
  const label = object(payload.label, "label");
  return { ...readTargetEvent(payload, deliveryId), label: string(label.name, "label.name", 100) };
}

/** Reads an `issue_comment.created` payload, or (`inThread`) a `pull_request_review_comment.created` one. */
export function readCommentEvent(payload: Json, deliveryId: string, inThread = false) {
  const comment = object(payload.comment, "comment");
  const target = readTargetEvent(payload, deliveryId);
  return {
    ...target,
    sender: readUser(comment.user, "comment.user"),
    commentId: integer(comment.id, "comment.id"),
    // GitHub caps a comment at 65,536 characters.
    body: text(comment.body, 65_536),
    createdAt: date(comment.created_at),
    inThread,
  };
}

/** Reads a `pull_request_review.submitted` payload. */
export function readReviewEvent(payload: Json, deliveryId: string) {
  const review = object(payload.review, "review");
  const target = readTargetEvent(payload, deliveryId);
  return {
    ...target,
    reviewer: readUser(review.user, "review.user"),
    reviewId: integer(review.id, "review.id"),
    // approved, changes_requested, commented (GitHub sends them lower-case in webhooks).
    reviewState: string(review.state, "review.state", 40).toLowerCase(),
    body: text(review.body, 65_536),
  };
}

export type ReviewEvent = ReturnType<typeof readReviewEvent>;

export interface PushEvent {
  installationId: number;
  repositoryId: number;
  repositoryFullName: string;
  /** The push went to the repository's default branch. */
  toDefaultBranch: boolean;
  /** Paths the pushed commits added, changed or removed (GitHub lists at most 20 commits, each at most 3,000 files). */
  changedPaths: string[];
}

/** Reads a `push` payload: only whether it changed a file on the default branch. */
export function readPushEvent(payload: Json): PushEvent {
  const repository = object(payload.repository, "repository");
  const installation = object(payload.installation, "installation");
  const branch = typeof repository.default_branch === "string" ? repository.default_branch : "";
  const paths = new Set<string>();
  const commits = Array.isArray(payload.commits) ? payload.commits.slice(0, 20) : [];
  for (const commit of [...commits, payload.head_commit]) {
    if (!commit || typeof commit !== "object") continue;
    for (const key of ["added", "modified", "removed"]) {
      const list = (commit as Json)[key];
      if (!Array.isArray(list)) continue;
      for (const path of list.slice(0, 3_000)) if (typeof path === "string" && path.length <= 1_000) paths.add(path);
    }
  }
  return {
    installationId: integer(installation.id, "installation.id"),
    repositoryId: integer(repository.id, "repository.id"),
    repositoryFullName: fullName(repository.full_name),
    toDefaultBranch: branch !== "" && payload.ref === `refs/heads/${branch}`,
    changedPaths: [...paths],
  };
}

function openAtOf(target: Json): { openAt?: Date } {
  if (target.state === "closed" || typeof target.updated_at !== "string") return {};
  const at = new Date(target.updated_at);
  return Number.isNaN(at.getTime()) ? {} : { openAt: at };
}

/**
 * The worker's context as the payload shows it: title, body (GitHub caps it at 65,536
 * characters), labels, author, and for a `pull_request` event its head and base. An
 * `issues` event on a pull request has no head or base: none then (the worker reads it).
 */
function snapshotOf(target: Json, isPull: boolean): { snapshot?: TargetSnapshot } {
  const labels = target.labels;
  const user = target.user as Json | null | undefined;
  if (!Array.isArray(labels) || typeof target.title !== "string" || typeof user?.login !== "string") return {};
  const names = labels
    .map((label) => (label && typeof label === "object" ? (label as Json).name : undefined))
    .filter((name): name is string => typeof name === "string")
    .slice(0, 100)
    .map((name) => text(name, 100));
  const snapshot: TargetSnapshot = {
    title: text(target.title, 1_000),
    body: text(target.body, 65_536),
    url: text(target.html_url, 1_000),
    state: target.state === "closed" ? "closed" : "open",
    labels: names,
    author: text(user.login, 100) || null,
  };
  if (target.pull_request !== undefined && !isPull) return {};
  if (!isPull) return { snapshot };
  const head = branchOf(target.head);
  const base = branchOf(target.base);
  return head && base ? { snapshot: { ...snapshot, head, base } } : {};
}

function branchOf(value: unknown): { ref: string; sha: string } | undefined {
  const branch = value as { ref?: unknown; sha?: unknown } | null | undefined;
  if (typeof branch?.ref !== "string" || typeof branch.sha !== "string") return undefined;
  if (!/^[0-9a-f]{40}$/.test(branch.sha) || branch.ref.length > 255 || branch.ref.includes("\u0000")) return undefined;
  return { ref: branch.ref, sha: branch.sha };
}

function headShaOf(target: Json): { headSha?: string } {
  const sha = (target.head as { sha?: unknown } | undefined)?.sha;
  return typeof sha === "string" && /^[0-9a-f]{40}$/.test(sha) ? { headSha: sha } : {};
}

/** `owner/repo` as GitHub names repositories. */
function fullName(value: unknown): string {
  const name = string(value, "repository.full_name", 200);
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(name)) throw new MalformedPayloadError("repository.full_name");
  return name;
}

function date(value: unknown): Date {
  const at = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
  return Number.isNaN(at.getTime()) ? new Date(0) : at;
}

/** Reads a `check_run.rerequested` payload (someone pressed Re-run on one of labelrun's check runs). */
export function readCheckRunEvent(payload: Json, deliveryId: string) {
  const check = object(payload.check_run, "check_run");
  const repository = object(payload.repository, "repository");
  return {
    deliveryId,
    installation: readInstallation(payload),
    repositoryId: integer(repository.id, "repository.id"),
    repositoryFullName: fullName(repository.full_name),
    checkRunId: integer(check.id, "check_run.id"),
    sender: readSender(payload),
  };
}

export type CheckRunEvent = ReturnType<typeof readCheckRunEvent>;
