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
function string(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") throw new MalformedPayloadError(what);
  return value;
}
function integer(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new MalformedPayloadError(what);
  return value;
}

export function readSender(payload: Json): Sender {
  const sender = object(payload.sender, "sender");
  const login = string(sender.login, "sender.login");
  return { login, isBot: sender.type === "Bot" || login.endsWith("[bot]") };
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
    repositoryFullName: string(repository.full_name, "repository.full_name"),
    number: integer(target.number, `${isPull ? "pull_request" : "issue"}.number`),
    kind: isPull || (target.pull_request !== undefined && target.pull_request !== null) ? "pull_request" : "issue",
    title: typeof target.title === "string" ? target.title : "",
    url: typeof target.html_url === "string" ? target.html_url : "",
    state: target.state === "closed" ? "closed" : "open",
    sender: readSender(payload),
  };
}

export function readLabelEvent(payload: Json, deliveryId: string): LabelEvent {
  const label = object(payload.label, "label");
  return { ...readTargetEvent(payload, deliveryId), label: string(label.name, "label.name") };
}

/** Reads an `issue_comment.created` payload. */
export function readCommentEvent(payload: Json, deliveryId: string) {
  const comment = object(payload.comment, "comment");
  const user = object(comment.user, "comment.user");
  const target = readTargetEvent(payload, deliveryId);
  return {
    ...target,
    sender: {
      login: string(user.login, "comment.user.login"),
      isBot: user.type === "Bot" || String(user.login).endsWith("[bot]"),
    },
    commentId: integer(comment.id, "comment.id"),
    body: typeof comment.body === "string" ? comment.body : "",
    createdAt: typeof comment.created_at === "string" ? new Date(comment.created_at) : new Date(0),
  };
}
