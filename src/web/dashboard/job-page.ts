import type { JobEventRow, JobLogRow, JobRow, WorkerRow } from "../../db/schema.js";
import { isRepositoryUrl } from "../../github/status-comment/neutralize.js";
import { isTerminal } from "../../jobs/states.js";
import { type Html, html } from "./html.js";
import { span, waitingFor } from "./job-card.js";

const when = (at: Date | null) => (at ? at.toISOString().replace("T", " ").slice(0, 19) : "—");

/**
 * Every field of a job, its timeline, and its log with a live tail; Cancel/Retry where the state
 * allows. A job type that runs its agents without a sandbox is said loudly.
 */
export function jobPageBody(
  job: JobRow,
  events: readonly JobEventRow[],
  logs: readonly JobLogRow[],
  notes: { unsandboxed?: boolean; online?: readonly WorkerRow[]; githubHost?: string } = {},
): Html {
  const rows: Array<[string, Html | string]> = [
    ["State", html`<span class="badge" id="job-status">${job.status}</span>${job.hold ? ` (${job.hold})` : ""}`],
    [
      "Target",
      html`${job.repositoryFullName} <a href="${job.targetUrl ?? "#"}">#${String(job.targetNumber)}</a> ${job.targetTitle ?? ""}`,
    ],
    ["Job type", job.jobType],
    [
      "Triggered",
      `${job.triggeredBy ? `@${job.triggeredBy}` : "—"}${job.triggerLabel ? ` with ${job.triggerLabel}` : ""}`,
    ],
    ["Attempt", `${job.attempt} of ${job.maxAttempts}`],
    ["Retry of", job.retryOf ? html`<a href="/jobs/${String(job.retryOf)}">#${String(job.retryOf)}</a>` : "—"],
    [
      "Duplicate of",
      job.duplicateOf ? html`<a href="/jobs/${String(job.duplicateOf)}">#${String(job.duplicateOf)}</a>` : "—",
    ],
    ["Created", when(job.createdAt)],
    ["Queued", when(job.queuedAt)],
    ["Started", when(job.startedAt)],
    ["Finished", when(job.finishedAt)],
    ["Duration", job.startedAt && job.finishedAt ? span(job.finishedAt.getTime() - job.startedAt.getTime()) : "—"],
    ["Waiting", waitingFor(job, notes.online) ?? "—"],
    ["Worker", job.workerId ?? "—"],
    [
      "Progress",
      job.progress !== null
        ? `${isTerminal(job.status) ? job.progress : Math.min(job.progress, 99)} % ${job.progressMessage ?? ""}`
        : "—",
    ],
    ["Cost", job.costUsd !== null ? `$${job.costUsd.toFixed(4)}` : "—"],
    [
      "Tokens",
      job.inputTokens !== null || job.outputTokens !== null
        ? `${job.inputTokens ?? 0} in / ${job.outputTokens ?? 0} out`
        : "—",
    ],
    [
      "Result",
      job.resultUrl
        ? isRepositoryUrl(job.resultUrl, job.repositoryFullName, notes.githubHost)
          ? html`<a href="${job.resultUrl}" rel="noopener noreferrer">${job.resultUrl}</a>`
          : html`${job.resultUrl} <span class="muted">(not a link: it is not in ${job.repositoryFullName} on GitHub)</span>`
        : "—",
    ],
    ["Summary", job.resultSummary ?? "—"],
    ["Failure", job.failureCode ? `${job.failureCode}: ${job.failureMessage ?? ""}` : "—"],
  ];
  const active = !isTerminal(job.status);
  const warning = notes.unsandboxed
    ? html`<p class="warning" id="unsandboxed">⚠ The job type <code>${job.jobType}</code> runs its agent <b>without a sandbox</b> (<code>sandbox: none</code> in the operator's file): the agent can read everything the worker can, including the App's private key.</p>`
    : "";
  return html`<h2>Job #${String(job.id)}</h2>${warning}
<p>${active ? html`<button class="danger" id="cancel" data-action="cancel">Cancel</button>` : html`<button id="retry" data-action="retry">Retry</button>`}
${job.hold === "awaiting_approval" ? html` <button id="approve" data-action="approve">Approve</button> <button id="reject" data-action="reject">Reject</button>` : ""}
${job.hold === "paused" ? html` <button id="resume" data-action="resume">Resume</button>` : ""}
${active && !job.hold && job.status !== "running" ? html` <button id="pause" data-action="pause">Pause</button>` : ""}
${job.status === "running" ? html` <button id="pause" data-action="pause">Pause after this run</button> <button id="interrupt" data-action="interrupt">Interrupt</button>` : ""}
<span id="action-result" class="muted"></span></p>
<div class="layout"><div><table>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</table></div>
<div><h3>Timeline</h3><table id="events">${events.map(
    (e) =>
      html`<tr><td class="muted">${when(e.at)}</td><td>${e.fromStatus ?? "∅"} → <b>${e.toStatus}</b></td><td>${e.code ?? ""} ${e.message ?? ""}</td><td class="muted">${e.actor}</td></tr>`,
  )}</table></div></div>
<h3>Log</h3><pre class="log" id="log" data-job="${String(job.id)}" data-after="${String(logs.at(-1)?.id ?? 0)}">${logs.map(
    (l) => html`<span class="${l.stream}">${l.line}</span>\n`,
  )}</pre>
<script src="/assets/job.js" defer></script>`;
}

/** Only an https URL becomes a link on the board: `javascript:`, `data:` and the like stay text. */
/** The job page's own script (served as a file: the page allows no inline script). */
export const JOB_SCRIPT = `const log = document.getElementById("log");
const jobId = Number(log.dataset.job);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
for (const button of document.querySelectorAll("button[data-action]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await fetch("/api/jobs/" + jobId + "/" + button.dataset.action, { method: "POST", headers: { "x-csrf-token": csrf } });
    const body = await res.json();
    document.getElementById("action-result").textContent = res.ok ? "done" : body.error.message;
    if (res.ok && button.dataset.action === "retry") location.href = "/jobs/" + body.job.id;
    else if (res.ok) location.reload();
    else button.disabled = false;
  });
}
async function tail() {
  const res = await fetch("/api/jobs/" + jobId + "/logs?after=" + log.dataset.after);
  if (!res.ok) return;
  const { logs } = await res.json();
  for (const line of logs) {
    const span = document.createElement("span");
    span.className = line.stream;
    span.textContent = line.line + "\\n";
    log.appendChild(span);
    log.dataset.after = line.id;
  }
}
const stream = new EventSource("/api/stream");
stream.addEventListener("job", async (event) => {
  const notice = JSON.parse(event.data);
  if (notice.id !== jobId) return;
  await tail();
  if (notice.status !== document.getElementById("job-status").textContent) location.reload();
});
setInterval(() => { if (!["completed","failed","abandoned","cancelled"].includes(document.getElementById("job-status").textContent)) tail(); }, 2000);
`;
