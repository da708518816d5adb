import { and, asc, eq, isNotNull, lt } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import type { ReviewFeedback } from "../github/port.js";
import { STATUS_COMMENT_MARKER } from "../github/status-comment/render-status-comment.js";

/** How much of the review a round's context carries; what is left out is said in `cut`. */
export const REVIEW_CONTEXT_LIMITS = {
  comments: 100,
  conversation: 50,
  threads: 50,
  threadComments: 20,
  bodyChars: 4_000,
  hunkChars: 3_000,
};

/** The rounds before this one on the same pull request (same opener, same job type). */
export async function earlierRounds(db: Database, job: JobRow) {
  if (job.parentJobId === null) return [];
  return db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.parentJobId, job.parentJobId),
        eq(jobs.jobType, job.jobType),
        isNotNull(jobs.reviewRound),
        lt(jobs.id, job.id),
      ),
    )
    .orderBy(asc(jobs.id));
}

/**
 * The `review` part of a round's `LABELRUN_CONTEXT`: what started it, the comments on the diff
 * (path, line, side, diff hunk), the conversation since the last round, and the earlier
 * rounds — bounded, with what was cut listed, so the agent never needs to call GitHub itself.
 */
export function reviewContext(params: { job: JobRow; feedback: ReviewFeedback; earlier: readonly JobRow[] }) {
  const { job, feedback, earlier } = params;
  const cut: string[] = [];
  const clip = (text: string, limit: number, what: string) => {
    if (text.length <= limit) return text;
    cut.push(`${what}: ${text.length.toLocaleString("en-US")} characters, cut to ${limit.toLocaleString("en-US")}`);
    return text.slice(0, limit);
  };
  const comments = feedback.comments.slice(0, REVIEW_CONTEXT_LIMITS.comments);
  if (feedback.comments.length > comments.length) {
    cut.push(`${feedback.comments.length - comments.length} review comments past the first ${comments.length}`);
  }
  // labelrun's own status comment is not feedback.
  const said = feedback.conversation.filter((c) => !c.body.includes(STATUS_COMMENT_MARKER));
  const conversation = said.slice(-REVIEW_CONTEXT_LIMITS.conversation);
  if (said.length > conversation.length) {
    cut.push(
      `${said.length - conversation.length} older conversation comments (the latest ${conversation.length} are kept)`,
    );
  }
  const threads = feedback.unresolvedThreads.slice(0, REVIEW_CONTEXT_LIMITS.threads);
  if (feedback.unresolvedThreads.length > threads.length) {
    cut.push(
      `${feedback.unresolvedThreads.length - threads.length} unresolved threads past the first ${threads.length}`,
    );
  }
  const trigger = job.review;
  return {
    round: job.reviewRound,
    opened_by_job: job.parentJobId,
    trigger: trigger
      ? {
          review_id: trigger.reviewId,
          comment_id: trigger.commentId,
          in_thread: trigger.inThread,
          author: trigger.author,
          state: trigger.state,
          body: clip(trigger.body, REVIEW_CONTEXT_LIMITS.bodyChars, "the review's body"),
        }
      : null,
    comments: comments.map((c) => ({
      id: c.id,
      author: c.author,
      path: c.path,
      line: c.line,
      side: c.side,
      diff_hunk: clip(c.diffHunk, REVIEW_CONTEXT_LIMITS.hunkChars, `the diff hunk of comment ${c.id}`),
      body: clip(c.body, REVIEW_CONTEXT_LIMITS.bodyChars, `the body of comment ${c.id}`),
    })),
    conversation: conversation.map((c) => ({
      id: c.id,
      author: c.author,
      created_at: c.createdAt,
      body: clip(c.body, REVIEW_CONTEXT_LIMITS.bodyChars, `the body of conversation comment ${c.id}`),
    })),
    unresolved_threads: threads.map((thread, i) => ({
      path: thread.path,
      line: thread.line,
      outdated: thread.outdated,
      comments: thread.comments.slice(0, REVIEW_CONTEXT_LIMITS.threadComments).map((c) => ({
        id: c.id,
        author: c.author,
        body: clip(c.body, REVIEW_CONTEXT_LIMITS.bodyChars, `a comment of unresolved thread ${i + 1}`),
      })),
    })),
    earlier_rounds: earlier.map((round) => ({
      job_id: round.id,
      round: round.reviewRound,
      status: round.status,
      summary: round.resultSummary,
      result_url: round.resultUrl,
    })),
    cut,
  };
}
