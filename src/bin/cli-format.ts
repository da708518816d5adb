import type { JobEventRow, JobRow } from "../db/schema.js";
import { reviewStateOf } from "../jobs/review-state.js";

/** Columns padded to their widest cell, for a terminal. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The state as people read it: a hold in brackets, and a completed job's open pull request as "awaiting review". */
export function stateWords(job: JobRow): string {
  if (job.hold) return `${job.status} (${job.hold})`;
  const review = reviewStateOf(job);
  return review ? `${job.status} (${review.replace(/_/g, " ")})` : job.status;
}

const when = (at: Date | null) => (at ? at.toISOString().replace("T", " ").slice(0, 19) : "");

export function jobsTable(jobs: readonly JobRow[]): string {
  return table(
    ["ID", "STATE", "TYPE", "TARGET", "TRIGGERED BY", "CREATED", "CODE"],
    jobs.map((j) => [
      String(j.id),
      stateWords(j),
      j.jobType,
      `${j.repositoryFullName}#${j.targetNumber}`,
      j.triggeredBy ?? "",
      when(j.createdAt),
      j.failureCode ?? "",
    ]),
  );
}

export function jobDetail(job: JobRow, events: readonly JobEventRow[]): string {
  const fields: Array<[string, string]> = [
    ["id", String(job.id)],
    ["state", stateWords(job)],
    ["target", `${job.repositoryFullName}#${job.targetNumber} (${job.targetKind}) ${job.targetTitle ?? ""}`],
    ["job type", job.jobType],
    ["triggered by", `${job.triggeredBy ?? ""}${job.triggerLabel ? ` with ${job.triggerLabel}` : ""}`],
    ["attempt", `${job.attempt} of ${job.maxAttempts}`],
    ["retry of", job.retryOf ? String(job.retryOf) : ""],
    ["created", when(job.createdAt)],
    ["started", when(job.startedAt)],
    ["finished", when(job.finishedAt)],
    ["cost", job.costUsd !== null ? `$${job.costUsd}` : ""],
    ["tokens", job.inputTokens !== null ? `${job.inputTokens} in / ${job.outputTokens ?? 0} out` : ""],
    ["result", job.resultUrl ?? ""],
    ["failure", job.failureCode ? `${job.failureCode}: ${job.failureMessage ?? ""}` : ""],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  const detail = fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
  const timeline = table(
    ["AT", "FROM", "TO", "CODE", "ACTOR", "MESSAGE"],
    events.map((e) => [when(e.at), e.fromStatus ?? "", e.toStatus, e.code ?? "", e.actor, e.message ?? ""]),
  );
  return `${detail}\n\n${timeline}`;
}
