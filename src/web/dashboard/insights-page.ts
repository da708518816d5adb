import type { JobInsights } from "../../jobs/job-insights.js";
import type { JobFilter } from "../../jobs/list-jobs.js";
import { BadRequestError } from "../api/job-filters.js";
import { type Html, html } from "./html.js";
import { horizontalBars, stackedBars } from "./svg-charts.js";

export const WINDOWS = [7, 30, 90] as const;

/** `days` of the insight pages: 7, 30 (default) or 90. */
export function parseWindow(params: URLSearchParams): number {
  const raw = params.get("days");
  if (raw === null || raw === "") return 30;
  const days = Number(raw);
  if (!WINDOWS.includes(days as (typeof WINDOWS)[number])) throw new BadRequestError("`days` must be 7, 30 or 90");
  return days;
}

const dollars = (value: number) => `$${value.toFixed(2)}`;
const percent = (value: number | null) => (value === null ? "—" : `${(value * 100).toFixed(1)} %`);

/** Seconds in words: 45s, 3m 20s, 1h 5m. */
export function duration(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function table(head: string[], rows: Array<Array<string | number | Html>>, id: string): Html {
  return html`<table class="figures" id="${id}"><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead>
<tbody>${rows.map((row) => html`<tr>${row.map((cell) => html`<td>${typeof cell === "number" ? String(cell) : cell}</td>`)}</tr>`)}</tbody></table>`;
}

/** The window's links and the board's filters, kept across them. */
function controls(days: number, filter: JobFilter, path: string): Html {
  const keep = new URLSearchParams();
  if (filter.installationId) keep.set("installation", String(filter.installationId));
  if (filter.accountLogin) keep.set("account", filter.accountLogin);
  if (filter.repositoryFullName && path === "/insights") keep.set("repository", filter.repositoryFullName);
  if (filter.jobType) keep.set("job_type", filter.jobType);
  const link = (d: number) => {
    const query = new URLSearchParams(keep);
    query.set("days", String(d));
    return d === days
      ? html`<strong>last ${d} days</strong>`
      : html`<a href="${path}?${query.toString()}">last ${d} days</a>`;
  };
  return html`<nav class="windows">${WINDOWS.map((d, i) => html`${i ? " · " : ""}${link(d)}`)}</nav>
<form class="filters" method="get" action="${path}"><input type="hidden" name="days" value="${String(days)}">
<input name="installation" placeholder="installation id" value="${filter.installationId ? String(filter.installationId) : ""}" inputmode="numeric" size="10">
<input name="account" placeholder="account" value="${filter.accountLogin ?? ""}" size="10">
${path === "/insights" ? html`<input name="repository" placeholder="owner/repo" value="${filter.repositoryFullName ?? ""}">` : ""}
<input name="job_type" placeholder="job type" value="${filter.jobType ?? ""}" size="10">
<button type="submit">Filter</button></form>`;
}

/** The insight page's body: tiles, then each chart with its table beside it. */
export function insightsBody(params: {
  insights: JobInsights;
  days: number;
  filter: JobFilter;
  path: string;
  heading?: Html;
}): Html {
  const { insights, days } = params;
  const t = insights.totals;
  const tiles: Array<[string, string, string]> = [
    ["finished", "Jobs finished", t.finished.toLocaleString("en-US")],
    ["success", "Success rate", percent(t.successRate)],
    ["duration", "Duration p50 / p90", `${duration(t.durationP50)} / ${duration(t.durationP90)}`],
    ["wait", "Queue wait p50 / p90", `${duration(t.waitP50)} / ${duration(t.waitP90)}`],
    ["cost", "Cost", dollars(t.costUsd)],
  ];
  const labels = insights.days.map((d) => d.day);
  const pick = (key: "completed" | "failed" | "cancelled" | "abandoned") => insights.days.map((d) => d[key]);
  const repoLink = (repository: string) =>
    html`<a href="/insights/${repository}?days=${String(days)}">${repository}</a>`;
  return html`${params.heading ?? ""}${controls(days, params.filter, params.path)}
<div class="tiles">${tiles.map(([id, label, value]) => html`<div class="tile" data-tile="${id}"><small>${label}</small><b>${value}</b></div>`)}</div>
<p class="muted" id="duplicates">${t.duplicates ? `${t.duplicates.toLocaleString("en-US")} duplicate trigger${t.duplicates === 1 ? "" : "s"} folded (not counted as jobs).` : "No duplicate triggers."} ${insights.since.toISOString().slice(0, 10)} to ${new Date(insights.until.getTime() - 1).toISOString().slice(0, 10)} (UTC).</p>
<section class="pair">${stackedBars({
    id: "chart-outcomes",
    title: "Jobs per day by outcome",
    labels,
    series: [
      { name: "completed", className: "bar-ok", values: pick("completed") },
      { name: "failed", className: "bar-bad", values: pick("failed") },
      { name: "abandoned", className: "bar-worse", values: pick("abandoned") },
      { name: "cancelled", className: "bar-muted", values: pick("cancelled") },
    ],
  })}${table(
    ["day", "completed", "failed", "abandoned", "cancelled"],
    [...insights.days].reverse().map((d) => [d.day, d.completed, d.failed, d.abandoned, d.cancelled]),
    "table-outcomes",
  )}</section>
<section class="pair">${stackedBars({
    id: "chart-cost",
    title: "Cost per day",
    labels,
    series: [{ name: "cost", className: "bar-main", values: insights.days.map((d) => d.costUsd) }],
    format: dollars,
  })}${table(
    ["day", "cost"],
    [...insights.days].reverse().map((d) => [d.day, dollars(d.costUsd)]),
    "table-cost",
  )}</section>
<section class="pair">${horizontalBars({
    id: "chart-repositories",
    title: "Busiest repositories",
    rows: insights.repositories.map((r) => ({ label: r.repository, value: r.jobs })),
  })}${table(
    ["repository", "jobs", "completed", "failed", "cost"],
    insights.repositories.map((r) => [repoLink(r.repository), r.jobs, r.completed, r.failed, dollars(r.costUsd)]),
    "table-repositories",
  )}</section>
<section class="pair">${horizontalBars({
    id: "chart-job-types",
    title: "Job types",
    rows: insights.jobTypes.map((r) => ({ label: r.jobType, value: r.jobs })),
  })}${table(
    ["job type", "jobs", "completed", "duration p50", "cost"],
    insights.jobTypes.map((r) => [r.jobType, r.jobs, r.completed, duration(r.durationP50), dollars(r.costUsd)]),
    "table-job-types",
  )}</section>
<section class="pair">${horizontalBars({
    id: "chart-failures",
    title: "Failure codes",
    rows: insights.failureCodes.map((r) => ({ label: r.code, value: r.count, className: "bar-bad" })),
  })}${table(
    ["code", "jobs"],
    insights.failureCodes.map((r) => [r.code, r.count]),
    "table-failures",
  )}</section>`;
}
