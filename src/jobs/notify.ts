import { sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import type { JobState } from "./states.js";

/** The NOTIFY channel on which every job status change is announced (workers, SSE). */
export const JOB_CHANNEL = "labelrun_jobs";

export interface JobNotice {
  id: number;
  status: JobState;
  installationId: number;
}

/**
 * Announces a status change. Sent inside the caller's transaction, so
 * Postgres delivers it only if (and when) the change commits.
 */
export async function notifyJobChange(db: Database, notice: JobNotice): Promise<void> {
  await db.execute(sql`select pg_notify(${JOB_CHANNEL}, ${JSON.stringify(notice)})`);
}

export function parseJobNotice(payload: string): JobNotice | null {
  try {
    const value = JSON.parse(payload) as Partial<JobNotice>;
    if (typeof value.id !== "number" || typeof value.status !== "string") return null;
    return value as JobNotice;
  } catch {
    return null;
  }
}
