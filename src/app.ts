import { createEventHandler } from "@octokit/webhooks";
import { withDeadline } from "./deadline.js";
import {
  MalformedPayloadError,
  readCheckRunEvent,
  readCommentEvent,
  readInstallation,
  readLabelEvent,
  readPushEvent,
  readReviewEvent,
  readSender,
  readTargetEvent,
} from "./github/intake/events.js";
import { handleCheckRerun } from "./github/intake/handle-check-rerun.js";
import { type CommentIntakeDeps, handleComment } from "./github/intake/handle-comment.js";
import { handleAccessRevoked, handleRepositoriesAdded, handleSuspension } from "./github/intake/handle-installation.js";
import { handleLabeled } from "./github/intake/handle-labeled.js";
import { handlePush } from "./github/intake/handle-push.js";
import { handleReview } from "./github/intake/handle-review.js";
import { followResultPullRequest, handleClosed, handleUnlabeled } from "./github/intake/handle-unlabeled-or-closed.js";
import { metrics } from "./metrics.js";

type Payload = Record<string, unknown>;

/**
 * How long a delivery's handling may take before it is answered 500: well under GitHub's 10 s,
 * past which @octokit/webhooks would answer `202 still processing` and GitHub would count a
 * trigger that was never recorded as delivered. A 500 is a failed delivery the redelivery sweep
 * asks for again; if the slow work finishes after all, the delivery id keeps the retry from
 * recording the job twice.
 */
export const DELIVERY_DEADLINE_MS = 5_000;

/** What a failed delivery answers with (a 500): no detail of the database or the server. */
export class DeliveryFailedError extends Error {
  constructor(cause: unknown) {
    super("labelrun could not record this delivery right now; it is logged, and GitHub can redeliver it", { cause });
    this.name = "DeliveryFailedError";
  }
}

/** One verified delivery: GitHub's delivery id, its event (`x-github-event`) and the parsed payload. */
export interface Delivery {
  id: string;
  name: string;
  payload: Payload;
}

/** Hands a delivery to its handlers; rejects (an AggregateError of DeliveryFailedError) when one failed. */
export type ReceiveDelivery = (delivery: Delivery) => Promise<void>;

/**
 * labelrun's intake: routes GitHub events to labelrun's handlers, which
 * receive plain values. A payload missing what a handler needs is logged with
 * its delivery id and ignored; any other error (the database down) propagates,
 * so the delivery is answered 500 and GitHub records a failed delivery that
 * can be redelivered. Events are routed by @octokit/webhooks' event handler
 * (what Probot routes with), without Probot's per-event context: its
 * authenticated Octokit and logger, built for every delivery, are used by no
 * handler here (they act through `deps.github`), and were most of the CPU a
 * label that triggers nothing cost.
 */
export function createIntake(deps: CommentIntakeDeps, options: { deadlineMs?: number } = {}): ReceiveDelivery {
  const deadlineMs = options.deadlineMs ?? DELIVERY_DEADLINE_MS;
  const events = createEventHandler({});
  const on = (names: string[], handle: (payload: Payload, delivery: Delivery) => Promise<unknown>) => {
    events.on(names as Parameters<typeof events.on>[0], async (emitted) => {
      const delivery = emitted as unknown as Delivery;
      const event = `${delivery.name}.${String(delivery.payload.action ?? "")}`;
      try {
        await withDeadline(
          handle(delivery.payload, delivery),
          deadlineMs,
          () => new Error(`handling the delivery took more than ${deadlineMs} ms (is the database slow?)`),
        );
        metrics.webhooks.inc({ event, outcome: "handled" });
      } catch (error) {
        if (!(error instanceof MalformedPayloadError)) {
          metrics.webhooks.inc({ event, outcome: "error" });
          // GitHub shows the answer's body in the App's delivery log: it says what happened,
          // never the SQL or the connection behind it (those go to this server's log).
          deps.log.error({ err: error, deliveryId: delivery.id, event: delivery.name }, "could not handle a delivery");
          throw new DeliveryFailedError(error);
        }
        metrics.webhooks.inc({ event, outcome: "malformed" });
        deps.log.warn(
          { deliveryId: delivery.id, event: delivery.name, reason: error.message },
          "malformed payload ignored",
        );
      }
    });
  };
  const repositories = (list: unknown) =>
    (Array.isArray(list) ? list : []).flatMap((r: { id?: unknown; full_name?: unknown }) =>
      typeof r?.id === "number" && typeof r.full_name === "string" ? [{ id: r.id, fullName: r.full_name }] : [],
    );

  on(["issues.labeled", "pull_request.labeled"], (payload, delivery) =>
    handleLabeled(deps, readLabelEvent(payload, delivery.id)),
  );
  on(["issues.unlabeled", "pull_request.unlabeled"], (payload, delivery) =>
    handleUnlabeled(deps, readLabelEvent(payload, delivery.id)),
  );
  on(["issues.closed"], (payload, delivery) => handleClosed(deps, readTargetEvent(payload, delivery.id)));
  on(["pull_request.closed"], async (payload, delivery) => {
    const event = readTargetEvent(payload, delivery.id);
    await handleClosed(deps, event);
    const merged = (payload.pull_request as { merged?: unknown } | undefined)?.merged === true;
    await followResultPullRequest(deps, event, merged ? "merged" : "closed");
  });
  on(["pull_request.reopened"], (payload, delivery) =>
    followResultPullRequest(deps, readTargetEvent(payload, delivery.id), "open"),
  );
  on(["issue_comment.created"], (payload, delivery) => handleComment(deps, readCommentEvent(payload, delivery.id)));
  // The review cycle: `/labelrun revise` in a review thread, and reviews that request changes.
  on(["pull_request_review_comment.created"], (payload, delivery) =>
    handleComment(deps, readCommentEvent(payload, delivery.id, true)),
  );
  on(["pull_request_review.submitted"], (payload, delivery) =>
    handleReview(deps, readReviewEvent(payload, delivery.id)),
  );
  // Re-run on a job's check run retries it, like re-adding the label.
  on(["check_run.rerequested"], (payload, delivery) => handleCheckRerun(deps, readCheckRunEvent(payload, delivery.id)));
  on(["installation.created"], (payload) =>
    handleRepositoriesAdded(deps, readInstallation(payload), repositories(payload.repositories)),
  );
  on(["installation_repositories.added"], (payload) =>
    handleRepositoriesAdded(deps, readInstallation(payload), repositories(payload.repositories_added)),
  );
  on(["installation.deleted"], (payload) => handleAccessRevoked(deps, readInstallation(payload), readSender(payload)));
  on(["installation_repositories.removed"], (payload) =>
    handleAccessRevoked(
      deps,
      readInstallation(payload),
      readSender(payload),
      repositories(payload.repositories_removed),
    ),
  );
  // A push that changes .github/labelrun.yml refreshes the stored config (dispatch trusts it for minutes).
  on(["push"], (payload) => handlePush(deps, readPushEvent(payload)));
  on(["installation.suspend"], (payload) => handleSuspension(deps, readInstallation(payload), true));
  on(["installation.unsuspend"], (payload) => handleSuspension(deps, readInstallation(payload), false));
  return (delivery) => events.receive(delivery as never);
}
