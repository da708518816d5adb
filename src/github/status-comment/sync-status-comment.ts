import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import { findJobsForTarget } from "../../jobs/find-jobs.js";
import { classifyGitHubError } from "../classify-error.js";
import { type GitHubPort, splitFullName } from "../port.js";
import { renderStatusComment } from "./render-status-comment.js";
import {
  type CommentTarget,
  markCommentDirty,
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
}

export type SyncOutcome = "written" | "unchanged" | "busy" | "failed";

const LEASE_MS = 60_000;
const MAX_ROUNDS = 4;

/**
 * Brings the target's status comment up to date with its jobs. Call it after
 * any transition. Concurrent calls coalesce: the one holding the lease
 * renders and writes (creating the comment only if none exists) and loops
 * while others mark it dirty; the rest return "busy" at once. A failed write
 * stays dirty for the maintenance sweep and never throws into the lifecycle.
 */
export async function syncStatusComment(deps: SyncDeps, target: CommentTarget): Promise<SyncOutcome> {
  const { db, clock } = deps;
  // One lease token per call: two calls in the same process are rivals too.
  const writerId = `${deps.writerId}:${randomUUID()}`;
  const log = deps.log.child({ repository: target.repositoryFullName, number: target.targetNumber });
  let row = await markCommentDirty(db, target, clock.now());
  let outcome: SyncOutcome = "busy";
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = clock.now();
    const leased = await takeCommentLease(db, row.id, writerId, now, new Date(now.getTime() + LEASE_MS));
    if (!leased) return outcome === "busy" ? "busy" : outcome;
    row = leased;
    try {
      while (row.dirtySince) {
        const dirtySince = row.dirtySince;
        const jobs = await findJobsForTarget(db, target);
        const body = renderStatusComment({ jobs, publicUrl: deps.publicUrl });
        const { owner, repo } = splitFullName(target.repositoryFullName);
        const ref = { installationId: target.installationId, owner, repo };
        let commentId = row.commentId;
        if (body === row.renderedBody && commentId !== null) {
          outcome = outcome === "written" ? "written" : "unchanged";
        } else {
          try {
            if (commentId === null) {
              commentId = (await deps.github.createComment({ ...ref, number: target.targetNumber }, body)).id;
            } else {
              await deps.github.updateComment(ref, commentId, body);
            }
            outcome = "written";
          } catch (error) {
            const kind = classifyGitHubError(error, clock.now());
            log.warn({ err: error, kind: kind.kind }, "status comment write failed; the sweep will retry");
            await recordCommentError(db, row.id, kind.message, clock.now());
            return "failed";
          }
        }
        const clean = await recordCommentWritten(db, {
          id: row.id,
          commentId,
          body,
          dirtySince,
          at: clock.now(),
        });
        row = { ...row, commentId, renderedBody: body, dirtySince: clean ? null : dirtySince };
        if (!clean) {
          // Marked again while we wrote: read the new mark and go round.
          row = (await markCommentDirty(db, target, clock.now())) ?? row;
        }
      }
    } finally {
      const released = await releaseCommentLease(db, row.id, writerId);
      if (released) row = released;
    }
    // A writer that found us holding the lease only marked the row; look once more.
    if (!row.dirtySince) return outcome;
  }
  return outcome;
}
