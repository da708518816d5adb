import type { Database } from "../db/client.js";
import { jobEvents } from "../db/schema.js";
import type { JobState } from "./states.js";

export interface JobEventInput {
  jobId: number;
  from: JobState | null;
  to: JobState;
  at: Date;
  actor: string;
  code?: string | null;
  message?: string | null;
  data?: Record<string, unknown> | null;
}

/** Appends one row to a job's timeline. Callers run it in the transaction that made the change. */
export async function recordEvent(db: Database, event: JobEventInput): Promise<void> {
  await db.insert(jobEvents).values({
    jobId: event.jobId,
    fromStatus: event.from,
    toStatus: event.to,
    at: event.at,
    actor: event.actor,
    code: event.code ?? null,
    message: event.message ?? null,
    data: event.data ?? null,
  });
}
