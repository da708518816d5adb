import { describe, expect, it } from "vitest";
import type { JobRow } from "../../src/db/schema.js";
import { renderStatusComment } from "../../src/github/status-comment/render-status-comment.js";

const base: JobRow = {
  id: 12,
  installationId: 2,
  repositoryId: 100,
  repositoryFullName: "octo-org/widgets",
  targetNumber: 7,
  targetKind: "issue",
  targetTitle: "Make the widgets spin",
  targetUrl: "https://github.com/octo-org/widgets/issues/7",
  jobType: "implement",
  triggerLabel: "agent:implement",
  triggeredBy: "octocat",
  deliveryId: "d",
  status: "pending",
  hold: null,
  failureCode: null,
  failureMessage: null,
  attempt: 0,
  maxAttempts: 3,
  retryOf: null,
  retryNumber: 0,
  duplicateOf: null,
  blockedBy: null,
  runAfter: null,
  timeoutSeconds: 2700,
  workerId: null,
  leaseExpiresAt: null,
  heartbeatAt: null,
  deadlineAt: null,
  progress: null,
  progressMessage: null,
  costUsd: null,
  inputTokens: null,
  outputTokens: null,
  resultUrl: null,
  resultSummary: null,
  createdAt: new Date("2026-03-01T12:00:00Z"),
  updatedAt: new Date("2026-03-01T12:00:00Z"),
  queuedAt: null,
  startedAt: null,
  finishedAt: null,
  prunedAt: null,
  pauseRequested: false,
  question: null,
  questionCommentId: null,
  questionAskedAt: null,
  answers: null,
  parentJobId: null,
  reviewRound: null,
  review: null,
  threadsAnsweredAt: null,
  holdReason: null,
  quotaWaivedBy: null,
  targetOpenAt: null,
  targetSnapshot: null,
  checkHeadSha: null,
  checkRunId: null,
  checkRunState: null,
  resultPrState: null,
  approvedBy: null,
  reactionVersion: 0,
  reactedVersion: 0,
  reactionLockedUntil: null,
};
const job = (overrides: Partial<JobRow>): JobRow => ({ ...base, ...overrides });
const started = new Date("2026-03-01T12:01:00Z");
const finished = new Date("2026-03-01T12:04:12Z");

describe("renderStatusComment", () => {
  it.each([
    ["pending", job({})],
    ["queued", job({ status: "queued", queuedAt: started })],
    [
      "running with progress (never shown as 100 % before the end)",
      job({ status: "running", attempt: 2, startedAt: started, progress: 100, progressMessage: "writing | tests" }),
    ],
    [
      "deferred by a rate limit",
      job({
        status: "deferred",
        runAfter: finished,
        failureCode: "RATE_LIMITED",
        failureMessage: "GitHub answered 403",
      }),
    ],
    [
      "completed with cost, tokens and link",
      job({
        status: "completed",
        startedAt: started,
        finishedAt: finished,
        progress: 100,
        costUsd: 0.4213,
        inputTokens: 12345,
        outputTokens: 2345,
        resultUrl: "https://github.com/octo-org/widgets/pull/8",
        resultSummary: "Opened a PR that makes the widgets spin.",
      }),
    ],
    [
      "failed",
      job({
        status: "failed",
        startedAt: started,
        finishedAt: finished,
        failureCode: "TIMEOUT",
        failureMessage: "ran past 45 minutes",
      }),
    ],
    [
      "abandoned",
      job({
        status: "abandoned",
        finishedAt: finished,
        failureCode: "ACCESS_REVOKED",
        failureMessage: "access revoked",
      }),
    ],
    [
      "cancelled",
      job({
        status: "cancelled",
        finishedAt: finished,
        failureCode: "CANCELLED",
        failureMessage: "the label was removed",
      }),
    ],
    ["held for approval", job({ hold: "awaiting_approval" })],
  ])("%s", (_name, current) => {
    expect(renderStatusComment({ jobs: [current], publicUrl: "https://labelrun.example.com/" })).toMatchSnapshot();
  });

  it("a completed job's own pull request is awaiting review until it is merged or closed; a link elsewhere is just a result", () => {
    const done = {
      status: "completed" as const,
      finishedAt: finished,
      resultUrl: "https://github.com/octo-org/widgets/pull/8",
    };
    const heading = (overrides: Partial<JobRow>) =>
      renderStatusComment({ jobs: [job({ ...done, ...overrides })] })
        .split("\n")
        .find((line) => line.startsWith("### "));
    expect(heading({})).toBe("### 👀 `implement` — completed, awaiting review");
    expect(renderStatusComment({ jobs: [job(done)] })).toContain(
      "Review the pull request #8; this job is done when it is merged.",
    );
    expect(heading({ resultPrState: "merged" })).toBe("### ✅ `implement` — completed, pull request merged");
    expect(heading({ resultPrState: "closed" })).toBe(
      "### ✅ `implement` — completed, pull request closed without merging",
    );
    expect(heading({ resultUrl: "https://github.com/someone-else/widgets/pull/8" })).toBe(
      "### ✅ `implement` — completed",
    );
    expect(heading({ resultUrl: "https://github.com/octo-org/widgets/issues/8" })).toBe(
      "### ✅ `implement` — completed",
    );
    expect(heading({ status: "failed", failureCode: "AGENT_ERROR" })).toBe("### ❌ `implement` — failed");
  });

  it("shows the current job of each job type and folds earlier attempts and duplicates away", () => {
    const body = renderStatusComment({
      jobs: [
        job({
          id: 10,
          status: "failed",
          startedAt: started,
          finishedAt: finished,
          failureCode: "NO_OUTPUT",
          failureMessage: "no result",
        }),
        job({ id: 12, status: "running", retryOf: 10, startedAt: started }),
        job({ id: 13, status: "cancelled", duplicateOf: 12, failureCode: "DUPLICATE", finishedAt: finished }),
        job({ id: 14, jobType: "review", triggerLabel: "agent:review", status: "queued" }),
      ],
    });
    expect(body).toMatchSnapshot();
    expect(body.indexOf("`implement` — running")).toBeLessThan(body.indexOf("`review` — queued"));
    expect(body).toContain("Earlier attempts (1)");
    expect(body).not.toContain("| #13 |");
    expect(body).toContain("1 duplicate trigger while job #12 was active was ignored.");
  });

  it("leads with the job that ran, not with duplicates recorded after it: 19 duplicates fold into one line", () => {
    const duplicates = Array.from({ length: 19 }, (_, i) =>
      job({
        id: 21 + i,
        status: "cancelled",
        duplicateOf: 2,
        failureCode: "DUPLICATE",
        failureMessage: "duplicate of job 2, which was pending when this trigger arrived",
        finishedAt: started,
      }),
    );
    const body = renderStatusComment({
      jobs: [...duplicates, job({ id: 2, status: "completed", startedAt: started, finishedAt: finished })],
    });
    expect(body).toContain("### ✅ `implement` — completed");
    expect(body).toContain("| Job | #2 |");
    expect(body).toContain("19 duplicate triggers while job #2 was active were ignored.");
    expect(body).not.toContain("Earlier attempts");
    expect(body).not.toContain("still pending");
    expect(body).not.toMatch(/cancelled/);
  });

  it("a target with only a duplicate (its job gone from the page) names it without freezing a state", () => {
    const body = renderStatusComment({
      jobs: [
        job({
          id: 5,
          status: "cancelled",
          duplicateOf: 4,
          failureCode: "DUPLICATE",
          failureMessage: "which is still pending",
        }),
      ],
    });
    expect(body).toContain("`DUPLICATE` triggered while job #4 was active; ignored");
    expect(body).not.toContain("still pending");
  });

  it("renders the same jobs to the same text, so an unchanged comment is not edited", () => {
    const jobs = [job({ status: "queued" })];
    expect(renderStatusComment({ jobs })).toBe(renderStatusComment({ jobs: [...jobs] }));
  });
});

describe("text labelrun did not write, in its comment", () => {
  const hostile = {
    resultSummary:
      "Done! cc @octo-org/security-team ![x](https://evil.example/p.png) [click](javascript:alert(1)) <img src=x> </details> www.evil.example | `code`",
    failureMessage: null,
  };

  it("cannot mention anyone, show an image or a link, or carry HTML", () => {
    const body = renderStatusComment({ jobs: [job({ status: "completed", ...hostile })] });
    const summary = body.split("\n").find((line) => line.startsWith("| Summary |")) ?? "";
    expect(summary).not.toMatch(/@octo-org/); // the mention is broken by a zero-width space
    expect(summary).toContain("@&#8203;octo-org/security-team");
    // No unescaped `[` (links, images), no tag, no URL GitHub would autolink.
    expect(summary).not.toMatch(/(^|[^\\])\[|<img|<\/details>|https:\/\/|www\.evil/);
    expect(summary).toContain("&lt;img src=x&gt;");
    // One table cell: a stranger's pipe cannot open another.
    expect(summary.replace(/\\\|/g, "").split("|")).toHaveLength(4);
  });

  it("links a result only inside the job's own repository on GitHub", () => {
    const render = (resultUrl: string) =>
      renderStatusComment({ jobs: [job({ status: "completed", resultUrl, repositoryFullName: "octo-org/widgets" })] })
        .split("\n")
        .find((line) => line.startsWith("| Result |"));
    expect(render("https://github.com/octo-org/widgets/pull/8")).toBe(
      "| Result | https://github.com/octo-org/widgets/pull/8 |",
    );
    for (const elsewhere of [
      "https://github.com/octo-org/widgets-evil/pull/8",
      "https://evil.example/octo-org/widgets/pull/8",
      "https://github.com.evil.example/octo-org/widgets",
      "https://user:pw@github.com/octo-org/widgets/pull/8",
      "javascript:alert(1)",
    ]) {
      const line = render(elsewhere) ?? "";
      expect(line, elsewhere).toContain("(not a link: it is not in octo-org/widgets)");
      expect(line, elsewhere).not.toMatch(/https:\/\/|\]\(/); // neither autolinked nor a Markdown link
    }
  });
});
