import { and, asc, eq, inArray } from "drizzle-orm";
import type { JobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { liveWorkers } from "../worker/presence-store.js";
import { noWorkerReason } from "./worker-availability.js";

/** The running limits claims obey: per installation (INSTALLATION_CONCURRENCY) and each job type's `concurrency`. */
export interface RunningLimits {
  installationLimit: number;
  jobTypes?: Pick<JobTypes, "byName">;
}

/**
 * Why each queued job of `queued` waits, from the database (so every process says the same):
 * no worker online (or none that runs its type), the installation's running limit (`2 of 2
 * running: #41, #43`), its job type's limit, or — when none of those — for a free worker slot.
 * One query for the workers and one for the running jobs of the installations concerned.
 */
export async function queuedReasons(
  db: Database,
  queued: readonly Pick<JobRow, "id" | "status" | "hold" | "installationId" | "jobType">[],
  limits: RunningLimits,
  now: Date,
): Promise<Map<number, string>> {
  const reasons = new Map<number, string>();
  const waiting = queued.filter((job) => job.status === "queued" && !job.hold);
  if (!waiting.length) return reasons;
  const [online, running] = await Promise.all([
    liveWorkers(db, now),
    db
      .select({ id: jobs.id, installationId: jobs.installationId, jobType: jobs.jobType })
      .from(jobs)
      .where(
        and(
          eq(jobs.status, "running"),
          inArray(jobs.installationId, [...new Set(waiting.map((j) => j.installationId))]),
        ),
      )
      .orderBy(asc(jobs.id)),
  ]);
  const list = (ids: number[]) => ids.map((id) => `#${id}`).join(", ");
  for (const job of waiting) {
    const noWorker = noWorkerReason(online, job.jobType);
    if (noWorker) {
      reasons.set(job.id, `for a worker: ${noWorker}`);
      continue;
    }
    const mine = running.filter((r) => r.installationId === job.installationId).map((r) => r.id);
    if (mine.length >= limits.installationLimit) {
      reasons.set(
        job.id,
        `the installation's limit is reached (${mine.length} of ${limits.installationLimit} running: ${list(mine)})`,
      );
      continue;
    }
    const typeLimit = limits.jobTypes?.byName.get(job.jobType)?.concurrency;
    const sameType = running.filter((r) => r.installationId === job.installationId && r.jobType === job.jobType);
    if (typeLimit !== undefined && sameType.length >= typeLimit) {
      reasons.set(
        job.id,
        `the job type's limit is reached (${sameType.length} of ${typeLimit} \`${job.jobType}\` running: ${list(sameType.map((r) => r.id))})`,
      );
      continue;
    }
    reasons.set(job.id, "for a free worker slot");
  }
  return reasons;
}
