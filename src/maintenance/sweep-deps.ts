import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Quotas } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import type { CommandRow } from "../github/commands/run-command.js";
import type { DeliveriesPort } from "../github/port.js";
import type { CommentTarget } from "../github/status-comment/status-comment-store.js";
import type { SyncOutcome } from "../github/status-comment/sync-status-comment.js";
import { type TransitionRequest, transitionJob } from "../jobs/transition-job.js";

export interface SweepSettings {
  /** Rows each sweep moves per tick at most. */
  batchSize: number;
  timeoutGraceSeconds: number;
  stalePendingSeconds: number;
  maxHoldDays: number;
  retentionDays: number;
}

/** What every sweep may touch. The actor of every change is `maintenance`. */
export interface SweepDeps {
  db: Database;
  clock: Clock;
  log: Logger;
  settings: SweepSettings;
  /** Dispatches a pending (or never-dispatched deferred) job, then updates its comment. */
  dispatch(jobId: number): Promise<unknown>;
  syncComment(target: CommentTarget): Promise<SyncOutcome>;
  /** After a sweep moved a job: status comment and trigger label. */
  onJobChanged(job: JobRow): Promise<void>;
  /** Carries out a recorded comment command (one left behind by a process that died). */
  runCommand(row: CommandRow): Promise<unknown>;
  /** GitHub's hook deliveries, or null when the app has no credentials (sweep off). */
  deliveries: DeliveriesPort | null;
  /** The operator's monthly quotas (the quotas sweep lifts holds they no longer justify). */
  quotas?: Quotas;
}

export const MAINTENANCE_ACTOR = "maintenance";

/** Moves one job for a sweep and, when the move won, lets the comment and label follow. */
export async function moveAndFollow(deps: SweepDeps, request: Omit<TransitionRequest, "actor">): Promise<boolean> {
  const result = await transitionJob(deps.db, { ...request, actor: MAINTENANCE_ACTOR });
  if (!result.ok) return false;
  await deps.onJobChanged(result.job);
  return true;
}
