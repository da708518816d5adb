import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import type { JobRow } from "../../db/schema.js";
import { type JobFilter, listJobs } from "../../jobs/list-jobs.js";
import { queuedReasons, type RunningLimits } from "../../jobs/queued-reason.js";
import type { JobState } from "../../jobs/states.js";
import { liveWorkers } from "../../worker/presence-store.js";
import { type Html, html } from "./html.js";
import { jobCard } from "./job-card.js";

const ACTIVE_COLUMNS: ReadonlyArray<[JobState, string]> = [
  ["pending", "Pending"],
  ["queued", "Queued"],
  ["running", "Running"],
  ["deferred", "Deferred"],
];
const RECENT_COLUMNS: ReadonlyArray<[JobState, string]> = [
  ["completed", "Completed"],
  ["failed", "Failed"],
  ["abandoned", "Abandoned"],
  ["cancelled", "Cancelled"],
];

/** The board's columns: every active job by state, and the latest finished ones. */
export async function boardFragment(params: {
  db: Database;
  clock: Clock;
  filter: JobFilter;
  limits?: RunningLimits;
}): Promise<Html> {
  const { db, clock, filter } = params;
  const now = clock.now();
  const wanted = filter.statuses;
  const online = await liveWorkers(db, now);
  const column = async ([state, title]: [JobState, string], limit: number, awaitingReview?: boolean) => {
    if (wanted && !wanted.includes(state)) return html``;
    // Duplicate triggers never ran: one line says how many, instead of a card each.
    const { jobs } = await listJobs(db, { ...filter, statuses: [state], limit, duplicates: "exclude", awaitingReview });
    const ordered = limit > 20 ? [...jobs].reverse() : jobs;
    // A queued job says exactly why it waits (workers, the installation's or job type's limit).
    const reasons = state === "queued" && params.limits ? await queuedReasons(db, jobs, params.limits, now) : undefined;
    const duplicates =
      state === "cancelled"
        ? (await listJobs(db, { ...filter, statuses: [state], limit: 100, duplicates: "only" })).jobs.length
        : 0;
    const folded = duplicates
      ? html`<p class="muted" data-duplicates="${String(duplicates)}">${String(duplicates)}${duplicates === 100 ? "+" : ""} duplicate trigger${duplicates === 1 ? "" : "s"} ignored (not shown)</p>`
      : html``;
    const key = awaitingReview ? "awaiting_review" : state;
    return html`<section class="column" data-column="${key}"><h2>${title} (${String(jobs.length)}${jobs.length === limit ? "+" : ""})</h2>
${ordered.map((job: JobRow) => jobCard(job, now, online, reasons?.get(job.id)))}${folded}</section>`;
  };
  const active = await Promise.all(ACTIVE_COLUMNS.map((c) => column(c, 100)));
  // A completed job whose pull request is still open is awaiting review, not done.
  const awaiting = await column(["completed", "Awaiting review"], 50, true);
  const recent = await Promise.all(RECENT_COLUMNS.map((c) => column(c, 10, c[0] === "completed" ? false : undefined)));
  return html`<div class="board">${active}</div><h2 class="muted">Awaiting review and recently finished</h2><div class="board board-5">${awaiting}${recent}</div>`;
}

export function filterForm(filter: JobFilter, action: string): Html {
  return html`<form class="filters" method="get" action="${action}">
<input name="installation" placeholder="installation id" value="${filter.installationId ? String(filter.installationId) : ""}" inputmode="numeric" size="10">
<input name="account" placeholder="account" value="${filter.accountLogin ?? ""}" size="10">
<input name="repository" placeholder="owner/repo" value="${filter.repositoryFullName ?? ""}">
<input name="job_type" placeholder="job type" value="${filter.jobType ?? ""}" size="10">
<input name="status" placeholder="state(s)" value="${filter.statuses?.join(",") ?? ""}" size="12">
<input name="number" placeholder="issue/PR #" value="${filter.targetNumber ? String(filter.targetNumber) : ""}" inputmode="numeric" size="8">
<button type="submit">Filter</button> <a href="${action}">clear</a></form>`;
}

/** Re-fetches the board when any job changes (SSE from Postgres NOTIFY), coalesced to one fetch at a time. */
export const BOARD_SCRIPT = `
const board = document.getElementById("board");
let pending = false, busy = false;
async function refresh() {
  if (busy) { pending = true; return; }
  busy = true;
  try {
    const res = await fetch(location.pathname + (location.search ? location.search + "&" : "?") + "fragment=1", { credentials: "same-origin" });
    if (res.ok) board.innerHTML = await res.text();
  } finally { busy = false; if (pending) { pending = false; refresh(); } }
}
const stream = new EventSource("/api/stream");
stream.addEventListener("job", refresh);
document.body.dataset.live = "connecting";
stream.onopen = () => { document.body.dataset.live = "on"; };
setInterval(refresh, 30000);
`;
