import type { JobRow } from "../../db/schema.js";
import type { CheckRunWrite } from "../port.js";
import { renderStatusComment } from "../status-comment/render-status-comment.js";

/** GitHub's limit on a check run's summary. */
const MAX_SUMMARY = 65_535;

/**
 * The check run a job on a pull request should show, or null for a job that has none (not on a
 * pull request, or a duplicate trigger that never ran). One check run per job, named after its
 * job type: queued → in_progress → completed with the conclusion its end means; a job held for
 * approval or an answer is `action_required`; a dry run is `neutral`.
 */
export function checkRunForJob(
  job: JobRow,
  options: { publicUrl?: string; githubHost?: string },
): CheckRunWrite | null {
  if (job.targetKind !== "pull_request" || job.duplicateOf !== null) return null;
  const { status, conclusion } = checkState(job);
  const summary = renderStatusComment({ jobs: [job], publicUrl: options.publicUrl, githubHost: options.githubHost })
    .split("\n")
    .slice(4) // the comment's marker and heading: the check run has its own
    .join("\n")
    .slice(0, MAX_SUMMARY);
  const words = conclusion ? conclusion.replace(/_/g, " ") : status.replace(/_/g, " ");
  return {
    name: job.jobType,
    status,
    ...(conclusion ? { conclusion } : {}),
    ...(options.publicUrl ? { detailsUrl: `${options.publicUrl.replace(/\/$/, "")}/jobs/${job.id}` } : {}),
    externalId: String(job.id),
    output: { title: `labelrun job #${job.id}: ${words}`, summary },
  };
}

function checkState(job: JobRow): Pick<CheckRunWrite, "status" | "conclusion"> {
  if (job.hold === "awaiting_approval" || job.hold === "awaiting_input") {
    return { status: "completed", conclusion: "action_required" };
  }
  switch (job.status) {
    case "running":
      return { status: "in_progress" };
    case "completed":
      return { status: "completed", conclusion: "success" };
    case "failed":
      return { status: "completed", conclusion: job.failureCode === "TIMEOUT" ? "timed_out" : "failure" };
    case "abandoned":
      return { status: "completed", conclusion: job.failureCode === "TIMEOUT" ? "timed_out" : "failure" };
    case "cancelled":
      return { status: "completed", conclusion: job.failureCode === "DRY_RUN" ? "neutral" : "cancelled" };
    default:
      return { status: "queued" };
  }
}

/** What a sync compares with the state it last wrote: a new job state, or a new status/conclusion. */
export function checkRunStateKey(check: CheckRunWrite, job: JobRow): string {
  return `${job.status}:${job.hold ?? ""}:${check.status}:${check.conclusion ?? ""}`;
}
