import type { WorkerRow } from "../db/schema.js";

/**
 * Why no online worker will pick a queued job of this type up, or null when
 * one would: no worker online at all, or every online worker refuses the job
 * type (and why: no sandbox on its machine).
 */
export function noWorkerReason(online: readonly WorkerRow[], jobType: string): string | null {
  if (!online.length) return "no worker is online";
  if (online.some((worker) => worker.runs.includes(jobType))) return null;
  const refusals = online
    .map((worker) => worker.refuses[jobType])
    .filter((reason): reason is string => typeof reason === "string");
  const why = refusals.length ? `: ${[...new Set(refusals)].join("; ")}` : "";
  return `no online worker can run \`${jobType}\` jobs${why}`;
}
