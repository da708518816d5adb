import nock from "nock";
import { describe, expect, it } from "vitest";
import type { JobRow } from "../../src/db/schema.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { STATUS_COMMENT_MARKER } from "../../src/github/status-comment/render-status-comment.js";
import { REVIEW_CONTEXT_LIMITS, reviewContext } from "../../src/worker/review-context.js";
import { api, makeProbot, mockToken } from "../support/github-harness.js";

const round = {
  id: 30,
  jobType: "revise",
  reviewRound: 2,
  parentJobId: 12,
  review: {
    reviewId: 77,
    commentId: null,
    inThread: false,
    author: "mona",
    state: "changes_requested",
    body: "Blue, please.",
  },
} as unknown as JobRow;

describe("a review round's context", () => {
  it("carries the review, its comments with path, line, side and hunk, the conversation and earlier rounds; what is too long is cut and said", () => {
    const long = "y".repeat(REVIEW_CONTEXT_LIMITS.bodyChars + 10);
    const comments = Array.from({ length: REVIEW_CONTEXT_LIMITS.comments + 3 }, (_, i) => ({
      id: i + 1,
      author: "mona",
      path: "src/widget.ts",
      line: i + 1,
      side: "RIGHT",
      diffHunk: "@@ -1 +1 @@\n-red\n+blue",
      body: i === 0 ? long : `comment ${i + 1}`,
    }));
    const context = reviewContext({
      job: round,
      feedback: {
        comments,
        conversation: [
          {
            id: 1,
            author: "labelrun[bot]",
            body: `${STATUS_COMMENT_MARKER}\n## labelrun`,
            createdAt: "2026-03-01T12:00:00Z",
          },
          { id: 2, author: "mona", body: "Also the docs.", createdAt: "2026-03-01T12:05:00Z" },
        ],
        unresolvedThreads: [
          {
            path: "src/a.ts",
            line: 4,
            outdated: false,
            comments: [{ id: 11, author: "mona", body: "Still red here." }],
          },
        ],
      },
      earlier: [
        {
          id: 20,
          reviewRound: 1,
          status: "completed",
          resultSummary: "Made it green",
          resultUrl: null,
        } as unknown as JobRow,
      ],
    });
    expect(context).toMatchObject({
      round: 2,
      opened_by_job: 12,
      trigger: { review_id: 77, author: "mona", state: "changes_requested", body: "Blue, please." },
      conversation: [{ id: 2, author: "mona", body: "Also the docs." }],
      unresolved_threads: [
        { path: "src/a.ts", line: 4, outdated: false, comments: [{ id: 11, author: "mona", body: "Still red here." }] },
      ],
      earlier_rounds: [{ job_id: 20, round: 1, status: "completed", summary: "Made it green" }],
    });
    expect(context.comments).toHaveLength(REVIEW_CONTEXT_LIMITS.comments);
    expect(context.comments[1]).toEqual({
      id: 2,
      author: "mona",
      path: "src/widget.ts",
      line: 2,
      side: "RIGHT",
      diff_hunk: "@@ -1 +1 @@\n-red\n+blue",
      body: "comment 2",
    });
    expect(context.comments[0]?.body).toHaveLength(REVIEW_CONTEXT_LIMITS.bodyChars);
    expect(context.cut).toEqual([
      "3 review comments past the first 100",
      `the body of comment 1: ${long.length.toLocaleString("en-US")} characters, cut to 4,000`,
    ]);
  });

  it("is read from GitHub with the installation's token: the review's comments and the conversation since the last round", async () => {
    const probot = makeProbot();
    const github = octokitPort((id) => probot.auth(id) as never);
    const scope = mockToken(api())
      .get("/repos/Codertocat/Hello-World/pulls/2/reviews/77/comments")
      .query({ per_page: 100 })
      .reply(200, [
        { id: 5, user: { login: "mona" }, path: "a.ts", line: 3, side: "RIGHT", diff_hunk: "@@", body: "here" },
      ])
      .get("/repos/Codertocat/Hello-World/issues/2/comments")
      .query({ per_page: 100, since: "2026-03-01T12:00:00.000Z" })
      .reply(200, [{ id: 9, user: { login: "mona" }, body: "and docs", created_at: "2026-03-01T12:01:00Z" }])
      .post("/graphql", (body) => body.variables?.number === 2 && String(body.query).includes("reviewThreads"))
      .reply(200, {
        data: {
          repository: {
            pullRequest: {
              reviewThreads: {
                nodes: [
                  { isResolved: true, isOutdated: false, path: "a.ts", line: 1, comments: { nodes: [] } },
                  {
                    isResolved: false,
                    isOutdated: true,
                    path: "b.ts",
                    line: null,
                    comments: { nodes: [{ databaseId: 12, author: { login: "mona" }, body: "why?" }] },
                  },
                ],
              },
            },
          },
        },
      });
    const feedback = await github.getReviewFeedback(
      { installationId: 2, owner: "Codertocat", repo: "Hello-World", number: 2 },
      { reviewId: 77, commentId: null, inThread: false },
      new Date("2026-03-01T12:00:00Z"),
    );
    expect(scope.isDone()).toBe(true);
    expect(feedback).toEqual({
      comments: [{ id: 5, author: "mona", path: "a.ts", line: 3, side: "RIGHT", diffHunk: "@@", body: "here" }],
      conversation: [{ id: 9, author: "mona", body: "and docs", createdAt: "2026-03-01T12:01:00Z" }],
      unresolvedThreads: [
        { path: "b.ts", line: null, outdated: true, comments: [{ id: 12, author: "mona", body: "why?" }] },
      ],
    });
    nock.cleanAll();
  });
});
