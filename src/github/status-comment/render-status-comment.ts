import type { JobRow } from "../../db/schema.js";
import { type ReviewState, resultPullNumber, reviewStateOf } from "../../jobs/review-state.js";
import type { JobState } from "../../jobs/states.js";
import { ACTIVE_STATES } from "../../jobs/states.js";
import { utcMinute, waitingReason } from "../../jobs/waiting-reason.js";
import { neutralize, resultLink } from "./neutralize.js";

/**
 * Hidden in every status comment. It only marks the comment for people
 * reading the source; labelrun finds its comment by the id it stored, never
 * by scanning text a user could also write.
 */
export const STATUS_COMMENT_MARKER = "<!-- labelrun:status-comment -->";

export const STATE_SYMBOLS: Readonly<Record<JobState, string>> = {
  pending: "⏳",
  queued: "🕒",
  running: "⚙️",
  deferred: "⏸️",
  completed: "✅",
  failed: "❌",
  abandoned: "⛔",
  cancelled: "🚫",
};

export interface RenderOptions {
  /** Every job on the issue/PR (any order). */
  jobs: readonly JobRow[];
  /** Base URL for links to job pages, when set. */
  publicUrl?: string;
  /** GitHub's host, for telling a result in the repository from a link elsewhere (default github.com). */
  githubHost?: string;
  /** Why queued jobs wait, read from the database (`queuedReasons`), by job id. */
  waiting?: ReadonlyMap<number, string>;
}

/**
 * The status comment's body: per job type, the current job in full and the
 * earlier ones folded into a `<details>` block. Pure and deterministic (no
 * clock), so an unchanged job renders to the same text and the edit is skipped.
 */
export function renderStatusComment(options: RenderOptions): string {
  const byType = new Map<string, JobRow[]>();
  for (const job of [...options.jobs].sort((a, b) => b.id - a.id)) {
    const list = byType.get(job.jobType) ?? [];
    list.push(job);
    byType.set(job.jobType, list);
  }
  const sections = [...byType.keys()].sort().map((jobType) => renderJobType(byType.get(jobType) ?? [], options));
  return [STATUS_COMMENT_MARKER, "## labelrun", ...sections].join("\n\n").concat("\n");
}

/**
 * The job that leads a job type's section: its active job; when none is
 * active, the latest job that is not a duplicate trigger (a duplicate never
 * ran, so it never speaks for the work).
 */
export function leadingJob(jobs: readonly JobRow[]): JobRow | undefined {
  const newestFirst = [...jobs].sort((a, b) => b.id - a.id);
  return (
    newestFirst.find((job) => ACTIVE_STATES.includes(job.status)) ??
    newestFirst.find((job) => job.duplicateOf === null) ??
    newestFirst[0]
  );
}

/** "2 duplicate triggers while job #7 was active were ignored." — every duplicate of the type in one line. */
export function duplicatesLine(duplicates: readonly JobRow[]): string | null {
  if (!duplicates.length) return null;
  const of = [...new Set(duplicates.map((job) => job.duplicateOf))].sort((a, b) => (a ?? 0) - (b ?? 0));
  const count = duplicates.length === 1 ? "1 duplicate trigger" : `${duplicates.length} duplicate triggers`;
  const verb = duplicates.length === 1 ? "was" : "were";
  const whileText =
    of.length === 1
      ? `while job #${of[0]} was active`
      : `while jobs ${of.map((id) => `#${id}`).join(", ")} were active`;
  return `${count} ${whileText} ${verb} ignored.`;
}

function renderJobType(jobs: JobRow[], options: RenderOptions): string {
  const current = leadingJob(jobs);
  if (!current) return "";
  const duplicates = jobs.filter((job) => job !== current && job.duplicateOf !== null);
  const earlier = jobs.filter((job) => job !== current && job.duplicateOf === null);
  const lines: string[] = [];
  const review = reviewStateOf(current);
  const state = review ? `${current.status}, ${REVIEW_WORDS[review]}` : current.status;
  lines.push(
    `### ${review === "awaiting_review" ? "👀" : STATE_SYMBOLS[current.status]} \`${current.jobType}\` — ${state}${holdText(current)}`,
  );
  lines.push(renderDetails(current, options));
  const folded = duplicatesLine(duplicates);
  if (folded) lines.push(`> [!NOTE]\n> ${folded}`);
  lines.push(howTo(current));
  if (earlier.length) {
    const rows = earlier.map(
      (job) =>
        `| #${job.id} | ${STATE_SYMBOLS[job.status]} ${job.status} | ${utcMinute(job.createdAt)} | ${duration(job) ?? "—"} | ${outcome(job)} |`,
    );
    lines.push(
      `<details><summary>Earlier attempts (${earlier.length})</summary>\n\n| job | state | triggered | duration | outcome |\n|---|---|---|---|---|\n${rows.join("\n")}\n\n</details>`,
    );
  }
  return lines.join("\n\n");
}

function renderDetails(job: JobRow, options: RenderOptions): string {
  const rows: Array<[string, string]> = [];
  const jobLink = options.publicUrl
    ? `[#${job.id}](${options.publicUrl.replace(/\/$/, "")}/jobs/${job.id})`
    : `#${job.id}`;
  rows.push(["Job", `${jobLink}${job.attempt > 1 ? ` (run ${job.attempt} of ${job.maxAttempts})` : ""}`]);
  const who = job.triggeredBy ? `@${job.triggeredBy}` : "someone";
  rows.push([
    "Triggered",
    `${who}${job.triggerLabel ? ` with \`${job.triggerLabel}\`` : ""}, ${utcMinute(job.createdAt)}`,
  ]);
  if (job.reviewRound !== null) {
    const asked = job.review
      ? ` — asked by @${job.review.author}${job.review.reviewId !== null ? " (changes requested)" : " with `/labelrun revise`"}`
      : "";
    rows.push(["Review round", `${job.reviewRound}, on the pull request job #${job.parentJobId} opened${asked}`]);
  }
  const waiting =
    options.waiting?.get(job.id) ??
    waitingReason(
      job,
      (text) => `\`${text}\``,
      (text) => neutralize(text),
    );
  if (waiting) rows.push(["Waiting", waiting]);
  if (job.startedAt) rows.push(["Started", utcMinute(job.startedAt)]);
  if (job.finishedAt) rows.push(["Finished", utcMinute(job.finishedAt)]);
  const took = duration(job);
  if (took && job.finishedAt) rows.push(["Duration", took]);
  if (job.status === "running" && job.progress !== null) {
    // Never 100 % until the job is really done.
    const shown = Math.min(job.progress, 99);
    rows.push([
      "Progress",
      `${bar(shown)} ${shown} %${job.progressMessage ? ` — ${neutralize(job.progressMessage)}` : ""}`,
    ]);
  }
  if (job.costUsd !== null || job.inputTokens !== null || job.outputTokens !== null) {
    const cost = job.costUsd !== null ? `$${job.costUsd.toFixed(2)}` : "—";
    const tokens =
      job.inputTokens !== null || job.outputTokens !== null
        ? ` · ${formatCount(job.inputTokens ?? 0)} in / ${formatCount(job.outputTokens ?? 0)} out tokens`
        : "";
    rows.push(["Cost", `${cost}${tokens}`]);
  }
  if (job.resultUrl) {
    const link = resultLink(job.resultUrl, job.repositoryFullName, options.githubHost);
    rows.push(["Result", `${link}${job.resultPrState ? ` (${job.resultPrState})` : ""}`]);
  }
  if (job.question && job.hold === "awaiting_input") rows.push(["Question", neutralize(job.question)]);
  if (job.resultSummary) rows.push(["Summary", neutralize(job.resultSummary)]);
  if (job.failureCode === "DUPLICATE") {
    rows.push(["Reason", `\`DUPLICATE\` triggered while job #${job.duplicateOf} was active; ignored`]);
  } else if (job.failureCode && job.status !== "deferred") {
    rows.push(["Reason", `\`${job.failureCode}\`${job.failureMessage ? ` ${neutralize(job.failureMessage)}` : ""}`]);
  }
  return `| | |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n")}`;
}

const REVIEW_WORDS: Readonly<Record<ReviewState, string>> = {
  awaiting_review: "awaiting review",
  merged: "pull request merged",
  closed: "pull request closed without merging",
};

function howTo(job: JobRow): string {
  const label = job.triggerLabel ? `\`${job.triggerLabel}\`` : "the trigger";
  if (reviewStateOf(job) === "awaiting_review") {
    return `Review the pull request #${resultPullNumber(job)}; this job is done when it is merged. To run it again from the start, add the ${label} label again.`;
  }
  if (ACTIVE_STATES.includes(job.status)) return `To cancel, remove the ${label} label.`;
  return `To run it again, add the ${label} label again (remove it first if it is still there).`;
}

function holdText(job: JobRow): string {
  return job.hold ? ` (${job.hold.replace(/_/g, " ")})` : "";
}

function outcome(job: JobRow): string {
  if (job.resultUrl) return job.resultUrl;
  if (job.failureCode) return `\`${job.failureCode}\`${job.failureMessage ? ` ${neutralize(job.failureMessage)}` : ""}`;
  return "—";
}

function duration(job: JobRow): string | null {
  if (!job.startedAt || !job.finishedAt) return null;
  const seconds = Math.max(0, Math.round((job.finishedAt.getTime() - job.startedAt.getTime()) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

function bar(percent: number): string {
  const filled = Math.round(percent / 10);
  return `\`${"█".repeat(filled)}${"░".repeat(10 - filled)}\``;
}

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Keeps agent text from breaking the table or injecting markup. */
