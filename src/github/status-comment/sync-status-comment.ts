import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import type { StatusCommentRow } from "../../db/schema.js";
import { findJobsForTarget } from "../../jobs/find-jobs.js";
import { queuedReasons, type RunningLimits } from "../../jobs/queued-reason.js";
import { isTerminal } from "../../jobs/states.js";
import { syncCheckRuns } from "../check-runs/sync-check-runs.js";
import { classifyGitHubError } from "../classify-error.js";
import { type GitHubPort, splitFullName } from "../port.js";
import { renderStatusComment } from "./render-status-comment.js";
import {
  type CommentTarget,
  getStatusComment,
  installationUsable,
  isBehind,
  recordCommentError,
  recordCommentWritten,
  releaseCommentLease,
  takeCommentLease,
} from "./status-comment-store.js";

export interface SyncDeps {
  db: Database;
  github: GitHubPort;
  clock: Clock;
  log: Logger;
  /** This process's name as a comment writer (each call adds its own lease token). */
  writerId: string;
  publicUrl?: string;
  githubHost?: string;
  /** The running limits, for saying why a queued job waits (absent: "for a free worker slot"). */
  limits?: RunningLimits;
  /**
   * How long a target's first comment waits while its jobs are active, after its first change was
   * recorded (0: at once). A job that ends sooner is told in one write, its outcome; a longer one's
   * first write already shows it running: one rate-limited request less per job either way.
   */
  firstCommentDelayMs?: number;
}

/** `not_due`: the target's first comment waits (see firstCommentDelayMs); the mark stays, nothing was written. */
export type SyncOutcome = "written" | "unchanged" | "busy" | "failed" | "not_due";

/** What the caller knows of the target's jobs, so that a comment not due yet costs one read. */
export interface SyncHint {
  /**
   * A job of the target was active when the change that calls this committed (its statement's
   * RETURNING said so). Should it have ended since, its end calls a sync of its own.
   */
  jobActive?: boolean;
}

const LEASE_MS = 60_000;
const MAX_ROUNDS = 4;
/**
 * Writes one lease holder makes at most before it lets go: a target that keeps changing cannot
 * hold a writer (or outlive its lease, paced seconds apart); the next call or the sweep goes on.
 */
const MAX_WRITES_PER_LEASE = 10;

/**
 * Brings the target's status comment up to date with its jobs' records.
 * Every change to a job has already marked the comment behind (recordChange,
 * in the change's transaction); this only acts on that mark, so calling it is
 * an accelerator and the maintenance sweep is the guarantee. One writer at a
 * time holds the lease: it reads the version, renders the records, writes,
 * and records the version it rendered (compare-and-set), going round while a
 * change raised the version meanwhile. Another call finding the lease taken
 * returns "busy": the holder, or the sweep, picks its change up. A failed
 * write stays marked for the sweep and never throws into the lifecycle.
 */
export async function syncStatusComment(
  deps: SyncDeps,
  target: CommentTarget,
  hint: SyncHint = {},
): Promise<SyncOutcome> {
  const { db, clock } = deps;
  // One lease token per call: two calls in the same process are rivals too.
  const writerId = `${deps.writerId}:${randomUUID()}`;
  const log = deps.log.child({ repository: target.repositoryFullName, number: target.targetNumber });
  let row = await getStatusComment(db, target.repositoryId, target.targetNumber);
  // A first comment not due yet is told without the lease (bench:intake: every dispatched job
  // took and gave back the lease and read its installation to learn only that): the active job
  // the caller saw, or else one read of the target's jobs, says so.
  if (row && isBehind(row) && firstWriteMayWait(deps, row)) {
    const active = hint.jobActive || !(await findJobsForTarget(db, target)).every((job) => isTerminal(job.status));
    if (active) return "not_due";
  }
  let outcome: SyncOutcome = "unchanged";
  for (let round = 0; row && isBehind(row) && round < MAX_ROUNDS; round++) {
    const now = clock.now();
    const leased = await takeCommentLease(db, row.id, writerId, now, new Date(now.getTime() + LEASE_MS));
    if (!leased) return outcome === "unchanged" ? "busy" : outcome;
    row = leased;
    try {
      for (let writes = 0; isBehind(row) && writes < MAX_WRITES_PER_LEASE; writes++) {
        const written = await writeOnce(deps, log, target, row);
        if (written.outcome === "failed" || written.outcome === "not_due") return written.outcome;
        if (written.outcome === "written" || outcome !== "written") outcome = written.outcome;
        row = written.row;
      }
    } finally {
      // The released row carries any change made since our last write: go round for it.
      row = (await releaseCommentLease(db, row.id, writerId)) ?? row;
    }
  }
  return outcome;
}

/** One render-and-write of the version the row holds now. */
async function writeOnce(
  deps: SyncDeps,
  log: Logger,
  target: CommentTarget,
  row: StatusCommentRow,
): Promise<{ outcome: SyncOutcome; row: StatusCommentRow }> {
  const { db, clock } = deps;
  // The version is read before the records: a change committed after this read raises it again.
  const version = row.version;
  const finished = (commentId: number | null, body: string | null) =>
    recordCommentWritten(db, { id: row.id, commentId, body, version, at: clock.now() });
  if (!(await installationUsable(db, target.installationId))) {
    // Access is gone (uninstalled, suspended): there is nothing to write to; the mark is spent.
    return { outcome: "unchanged", row: (await finished(row.commentId, null)) ?? row };
  }
  const jobs = await findJobsForTarget(db, target);
  if (firstWriteWaits(deps, row, jobs)) return { outcome: "not_due", row };
  const waiting = deps.limits ? await queuedReasons(db, jobs, deps.limits, clock.now()) : undefined;
  const body = renderStatusComment({ jobs, publicUrl: deps.publicUrl, githubHost: deps.githubHost, waiting });
  const { owner, repo } = splitFullName(target.repositoryFullName);
  const ref = { installationId: target.installationId, owner, repo };
  try {
    // The pull request's check runs follow the same records, under the same mark and lease.
    await syncCheckRuns(deps, { ...ref, number: target.targetNumber }, jobs);
    if (body === row.renderedBody && row.commentId !== null) {
      return { outcome: "unchanged", row: (await finished(row.commentId, body)) ?? row };
    }
    let commentId = row.commentId;
    if (commentId !== null) {
      try {
        await deps.github.updateComment(ref, commentId, body);
      } catch (error) {
        // Someone deleted the comment: the target gets a new one.
        if ((error as { status?: number }).status !== 404) throw error;
        commentId = null;
      }
    }
    if (commentId === null)
      commentId = (await deps.github.createComment({ ...ref, number: target.targetNumber }, body)).id;
    return { outcome: "written", row: (await finished(commentId, body)) ?? row };
  } catch (error) {
    const kind = classifyGitHubError(error, clock.now());
    if (kind.kind === "permanent" || kind.kind === "revoked") {
      // Asking again will not help (the issue is gone, access was lost): this version is given up.
      log.warn({ err: error, kind: kind.kind }, "status comment cannot be written; given up for this change");
      await finished(row.commentId, null);
      await recordCommentError(db, row.id, kind.message, clock.now());
      return { outcome: "failed", row };
    }
    log.warn({ err: error, kind: kind.kind }, "status comment write failed; the sweep will retry");
    await recordCommentError(db, row.id, kind.message, clock.now());
    return { outcome: "failed", row };
  }
}

/** Whether the target's first comment is not due yet: none written, a job still active, the delay not over. */
function firstWriteWaits(
  deps: Pick<SyncDeps, "clock" | "firstCommentDelayMs">,
  row: Pick<StatusCommentRow, "commentId" | "dirtySince">,
  jobs: ReadonlyArray<{ status: Parameters<typeof isTerminal>[0] }>,
): boolean {
  return firstWriteMayWait(deps, row) && !jobs.every((job) => isTerminal(job.status));
}

/** firstWriteWaits as far as the row tells: none written, the delay not over (the jobs decide). */
function firstWriteMayWait(
  deps: Pick<SyncDeps, "clock" | "firstCommentDelayMs">,
  row: Pick<StatusCommentRow, "commentId" | "dirtySince">,
): boolean {
  const delay = deps.firstCommentDelayMs ?? 0;
  if (delay <= 0 || row.commentId !== null || !row.dirtySince) return false;
  return deps.clock.now().getTime() < row.dirtySince.getTime() + delay;
}
