import type { JobState } from "./states.js";

/** The NOTIFY channel on which every job change is announced (workers, SSE); sent by recordChange. */
export const JOB_CHANNEL = "labelrun_jobs";

export interface JobNotice {
  id: number;
  status: JobState;
  installationId: number;
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
