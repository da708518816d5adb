import type { JobRow, WorkerRow } from "../../db/schema.js";
import { reviewStateOf } from "../../jobs/review-state.js";
import { waitingReason } from "../../jobs/waiting-reason.js";
import { noWorkerReason } from "../../jobs/worker-availability.js";
import { type Html, html } from "./html.js";

/** "3m 12s", "2h 5m", "40s", "3d". */
export function span(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds >= 48 * 3600) return `${Math.floor(seconds / 86400)}d`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

/**
 * One job on the board: target, type, who, age or duration, progress, why it waits (for a queued
 * job with `online` workers given: whether any of them can run it).
 */
export function jobCard(job: JobRow, now: Date, online?: readonly WorkerRow[], queuedReason?: string): Html {
  const waiting = queuedReason ?? waitingFor(job, online);
  const ended =
    job.finishedAt && job.startedAt ? `took ${span(job.finishedAt.getTime() - job.startedAt.getTime())}` : null;
  const age = `${span(now.getTime() - (job.startedAt ?? job.createdAt).getTime())} ${job.status === "running" ? "running" : "ago"}`;
  const progress = job.status === "running" && job.progress !== null ? Math.min(job.progress, 99) : null;
  const review = reviewStateOf(job);
  return html`<div class="card s-${job.status}" data-job="${String(job.id)}" data-status="${job.status}"${review ? html` data-review="${review}"` : ""}>
<small>${job.repositoryFullName} <a href="${job.targetUrl ?? "#"}">#${String(job.targetNumber)}</a> · ${job.jobType}</small>
<a class="title" href="/jobs/${String(job.id)}">${job.targetTitle || `${job.targetKind === "pull_request" ? "PR" : "Issue"} #${job.targetNumber}`}</a>
<small>job #${String(job.id)} · ${job.triggeredBy ? `@${job.triggeredBy}` : "—"} · ${ended ?? age}</small>
${progress !== null ? html`<div class="bar" title="${String(progress)} %"><span style="width:${String(progress)}%"></span></div><small>${job.progressMessage ?? ""}</small>` : ""}
${waiting ? html`<small>waiting ${waiting}</small>` : ""}
${job.failureCode && job.status !== "deferred" ? html`<small class="badge">${job.failureCode}</small>` : ""}
${review ? html`<small class="badge">${review === "awaiting_review" ? "awaiting review" : `pull request ${review}`}</small>` : ""}
</div>`;
}

/** Why a job waits, and for a queued one, whether a worker able to run it is online. */
export function waitingFor(job: JobRow, online?: readonly WorkerRow[]): string | null {
  const waiting = waitingReason(job, (text) => text);
  if (job.status !== "queued" || job.hold || !online) return waiting;
  const noWorker = noWorkerReason(online, job.jobType);
  return noWorker ? `for a worker: ${noWorker}` : waiting;
}
