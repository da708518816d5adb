import type { JobRow } from "../db/schema.js";

/** How code-like words are shown: backticks in Markdown, `<code>` in HTML. */
export type CodeFormatter = (text: string) => string;

export function utcMinute(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Why a job waits and what moves it on, in words shared by the status comment
 * and the dashboard; null for a job that does not wait. `clean` keeps user- or
 * agent-written text from breaking the surrounding markup.
 */
export function waitingReason(
  job: JobRow,
  code: CodeFormatter,
  clean: (text: string) => string = (t) => t,
): string | null {
  if (job.hold === "awaiting_approval")
    return `for approval: someone with write access comments ${code("/labelrun approve")}`;
  if (job.hold === "awaiting_input") return "for an answer to the agent's question (reply in a comment)";
  if (job.hold === "blocked_by") return `for job #${job.blockedBy ?? "?"} to complete`;
  if (job.hold === "paused") return `paused: comment ${code("/labelrun resume")} to continue`;
  if (job.hold === "quota_reached") {
    return `quota reached: ${clean(job.holdReason ?? "a monthly quota is used up")}; or an admin comments ${code("/labelrun approve")} to let this job through`;
  }
  if (job.status === "pending") return "being checked (repository config, issue state)";
  if (job.status === "queued") return "for a free worker slot";
  if (job.status === "deferred") {
    const until = job.runAfter ? `until ${utcMinute(job.runAfter)}` : "to be retried";
    const why = job.failureCode
      ? ` (${code(job.failureCode)}${job.failureMessage ? ` ${clean(job.failureMessage)}` : ""})`
      : "";
    return `${until}${why}`;
  }
  return null;
}
