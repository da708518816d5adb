import type { Clock } from "../clock.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { endActiveJobs } from "./end-active-jobs.js";
import { liftHold, placeHold, requestPause } from "./holds.js";
import { retryJob } from "./retry-job.js";
import { isTerminal } from "./states.js";
import { transitionJob } from "./transition-job.js";

/** What a person can do to a job, from any surface: comment command, board button, API, CLI. */
export const JOB_ACTIONS = ["retry", "cancel", "approve", "reject", "pause", "resume", "interrupt"] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export type ActionOutcome =
  /** `changed`: jobs whose reactions and comment should catch up now; `dispatch`: jobs to dispatch. */
  | { done: true; message: string; changed: JobRow[]; dispatch: number[]; job?: JobRow }
  | { done: false; message: string; conflict?: "still_active" | "duplicate" | "moved" };

/**
 * One person's action on one job — the same code for a comment command, a
 * board button, the API and the CLI, so every surface records the same
 * events and marks. `by` is how the job's message names who did it.
 */
export async function actOnJob(
  db: Database,
  clock: Clock,
  job: JobRow,
  command: JobAction,
  who: { actor: string; by: string; approver: string },
): Promise<ActionOutcome> {
  const { actor, by } = who;
  const deps = { db };
  const at = clock.now();
  const refused = (why: string, conflict: "still_active" | "duplicate" | "moved" = "moved"): ActionOutcome => ({
    done: false,
    message: `Cannot ${command} job #${job.id}: ${why}.`,
    conflict,
  });
  const done = (changed: JobRow | null | undefined, dispatch: number[] = []): ActionOutcome =>
    changed
      ? { done: true, message: `${command} job #${job.id}`, changed: [changed], dispatch }
      : refused("it changed meanwhile");

  switch (command) {
    case "cancel": {
      if (isTerminal(job.status)) return refused(`it is already ${job.status}`, "moved");
      const [ended] = await endActiveJobs(deps.db, [job], {
        to: "cancelled",
        code: "CANCELLED",
        message: `cancelled by ${by}`,
        actor,
        at,
      });
      return ended ? ({ ...done(ended), job: ended } as ActionOutcome) : refused("it ended meanwhile", "moved");
    }
    case "retry": {
      const result = await retryJob(deps.db, { jobId: job.id, actor, at });
      if (result.outcome === "still_active")
        return refused(`it is still ${job.status}: cancel it first`, "still_active");
      if (result.outcome === "duplicate")
        return refused(`job #${result.activeJob.id} is already active for this target and job type`, "duplicate");
      if (result.outcome !== "created" && result.outcome !== "already_recorded") return refused("it is gone", "moved");
      return {
        done: true,
        message: `retry of job #${job.id} is job #${result.job.id}`,
        changed: [],
        dispatch: [result.job.id],
        job: result.job,
      };
    }
    case "approve": {
      // On a job held by a spent quota, approve lets this one job through (the caller checks it is an admin).
      const quota = job.hold === "quota_reached";
      const lifted = await liftHold(deps.db, {
        job,
        expect: quota ? "quota_reached" : "awaiting_approval",
        actor,
        at,
        message: quota ? `let past the quota by ${by}` : `approved by ${by}`,
        ...(quota ? { quotaWaivedBy: who.approver } : { approvedBy: who.approver }),
      });
      if (!lifted.ok) return refused(lifted.reason);
      return lifted.job.status === "pending" ? done(lifted.job, [job.id]) : done(lifted.job);
    }
    case "reject": {
      if (job.hold !== "awaiting_approval") return refused("it does not wait for approval");
      const result = await transitionJob(deps.db, {
        jobId: job.id,
        from: job.status,
        to: "cancelled",
        at,
        actor,
        code: "CANCELLED",
        message: `rejected by ${by}`,
      });
      return done(result.ok ? result.job : null);
    }
    case "pause": {
      if (job.status === "running") {
        return (await requestPause(deps.db, job, at, actor))
          ? {
              done: true,
              message: `job #${job.id} will be held if this run does not complete`,
              changed: [job],
              dispatch: [],
            }
          : refused("it changed meanwhile");
      }
      const held = await placeHold(deps.db, { job, hold: "paused", actor, at, message: `paused by ${by}` });
      return held.ok ? done(held.job) : refused(held.reason);
    }
    case "resume": {
      const lifted = await liftHold(deps.db, { job, expect: "paused", actor, at, message: `resumed by ${by}` });
      if (!lifted.ok) return refused(lifted.reason);
      return lifted.job.status === "pending" ? done(lifted.job, [job.id]) : done(lifted.job);
    }
    case "interrupt": {
      if (job.status !== "running")
        return refused(`only a running job can be interrupted (this one is ${job.status}); use pause`);
      // The agent is stopped now (its worker hears the change) and the job waits, paused,
      // without spending the attempt it was on.
      const result = await transitionJob(deps.db, {
        jobId: job.id,
        from: "running",
        to: "deferred",
        at,
        actor,
        message: `interrupted by ${by}`,
        patch: { hold: "paused", attempt: Math.max(0, job.attempt - 1), runAfter: null },
      });
      return done(result.ok ? result.job : null);
    }
  }
}
