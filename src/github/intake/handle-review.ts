import { recordInstallation } from "../../db/installations.js";
import { findReviewCycle, startReviewRound } from "../../jobs/start-review-round.js";
import { splitFullName } from "../port.js";
import type { ReviewEvent } from "./events.js";
import type { CommentIntakeDeps } from "./handle-comment.js";
import { commentTarget } from "./handle-labeled.js";

/**
 * `pull_request_review.submitted` with **changes requested**, on a pull request a labelrun job
 * opened: a new review round (the opener's `on_review` job type), recorded before the delivery
 * is answered — a GitHub failure while checking the reviewer's permission fails the delivery,
 * so it is redelivered rather than lost. Reviews by bots and by people without write access
 * start nothing (logged, like a stranger's command: no reply in the App's voice).
 */
export async function handleReview(
  deps: CommentIntakeDeps,
  event: ReviewEvent,
): Promise<"started" | "duplicate" | "limit" | "ignored"> {
  const log = deps.log.child({ deliveryId: event.deliveryId, reviewId: event.reviewId });
  if (event.reviewState !== "changes_requested" || event.state === "closed") return "ignored";
  if (event.reviewer.isBot) {
    log.info({ reviewer: event.reviewer.login }, "a review by a bot starts no review round");
    return "ignored";
  }
  // A review of a pull request no labelrun job opened costs nothing, not even a permission lookup.
  const cycle = await findReviewCycle(deps, event.repositoryId, event.number);
  if ("message" in cycle) return "ignored";
  const { owner, repo } = splitFullName(event.repositoryFullName);
  const writer = await deps.canWrite({ installationId: event.installation.id, owner, repo }, event.reviewer.login);
  if (!writer) {
    log.info({ reviewer: event.reviewer.login }, "a review by someone without write access starts no review round");
    return "ignored";
  }
  const at = deps.clock.now();
  await recordInstallation(deps.db, event.installation, at);
  const started = await startReviewRound(
    deps,
    {
      installationId: event.installation.id,
      repositoryId: event.repositoryId,
      repositoryFullName: event.repositoryFullName,
      pullNumber: event.number,
      pullTitle: event.title,
      pullUrl: event.url,
      requestedBy: event.reviewer.login,
      trigger: {
        reviewId: event.reviewId,
        commentId: null,
        inThread: false,
        author: event.reviewer.login,
        state: event.reviewState,
        body: event.body,
      },
      deliveryId: event.deliveryId,
      headSha: event.headSha ?? null,
    },
    at,
    cycle,
  );
  log.info({ outcome: started.outcome, pull: event.number }, "review");
  if (started.outcome === "no_review_cycle") return "ignored";
  if (started.outcome === "started") {
    const jobId = started.job.id;
    deps.after.run("dispatch", () => deps.dispatch(jobId));
    return "started";
  }
  if (started.outcome === "already_recorded") return "ignored";
  deps.after.run("status comment", () => deps.syncComment(commentTarget(event)));
  return started.outcome;
}
