import type { JobRow } from "../db/schema.js";

/**
 * Where the pull request a job opened stands: a completed job whose result is a pull request
 * of its own repository is **awaiting review** until that PR is merged or closed. The job
 * stays `completed`; this is what the record of its PR says.
 */
export type ReviewState = "awaiting_review" | "merged" | "closed";

/** The number of the pull request a job's result is, when it is one of the job's own repository. */
export function resultPullNumber(job: Pick<JobRow, "resultUrl" | "repositoryFullName">): number | null {
  if (!job.resultUrl) return null;
  let path: string;
  try {
    const url = new URL(job.resultUrl);
    if (url.protocol !== "https:") return null;
    path = url.pathname.toLowerCase();
  } catch {
    return null;
  }
  const match = new RegExp(`^/${escapeRegExp(job.repositoryFullName.toLowerCase())}/pull/(\\d{1,9})/?$`).exec(path);
  return match ? Number(match[1]) : null;
}

export function reviewStateOf(
  job: Pick<JobRow, "status" | "resultUrl" | "repositoryFullName" | "resultPrState">,
): ReviewState | null {
  if (job.status !== "completed" || resultPullNumber(job) === null) return null;
  if (job.resultPrState === "merged") return "merged";
  if (job.resultPrState === "closed") return "closed";
  return "awaiting_review";
}

/** SQL-side twin of `reviewStateOf(...) === "awaiting_review"` (served by `jobs_awaiting_review`). */
export const AWAITING_REVIEW_SQL =
  "status = 'completed' and coalesce(result_pr_state, 'open') = 'open' and result_url ~ '^https://[^/]+/[^/]+/[^/]+/pull/[0-9]+/?$' and lower(split_part(result_url, '/', 4) || '/' || split_part(result_url, '/', 5)) = lower(repository_full_name)";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
