import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { parseJobTypes } from "../../src/config/job-types.js";
import { jobs } from "../../src/db/schema.js";
import { parseCommand } from "../../src/github/commands/parse-command.js";
import { reactToJob } from "../../src/github/job-reactions.js";
import { findJobsForTarget, getJob } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { REPO, reviewCommented, reviewSubmitted } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { api, makeGitHubHarness, mockConfig, mockIssue, mockPermission, mockToken } from "../support/github-harness.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
    on_review: revise
    max_review_rounds: 2
  revise:
    command: [node, r.mjs]
    label: "agent:revise"
  plain:
    command: [node, p.mjs]
    label: "agent:plain"
`);
const PULL = 2;
/** The jobs on the pull request, oldest first. */
const pullJobs = async (db: Parameters<typeof findJobsForTarget>[0]) =>
  (await findJobsForTarget(db, { repositoryId: REPO.id, targetNumber: PULL })).reverse();

describe("parseCommand: /labelrun revise", () => {
  it("keeps what follows as the request, not a job type", () => {
    expect(parseCommand("/labelrun revise make the widgets blue, please")).toEqual({
      kind: "command",
      command: "revise",
      jobType: null,
      note: "make the widgets blue, please",
    });
    expect(parseCommand("/labelrun revise")).toEqual({ kind: "command", command: "revise", jobType: null });
  });
});

describe.each(testDrivers)("the review cycle (%s)", (driver) => {
  const database = useTestDatabase(driver);
  let harness: Awaited<ReturnType<typeof makeGitHubHarness>>;
  let opener: Awaited<ReturnType<typeof makeJob>>;
  const dispatched: number[] = [];
  const synced: number[] = [];
  beforeEach(async () => {
    await seedInstallation(database.db, 2);
    harness = await makeGitHubHarness(database.db, JOB_TYPES);
    // Follow-up work is recorded, not carried out: these tests are about what the delivery records.
    dispatched.length = 0;
    synced.length = 0;
    harness.deps.dispatch = async (id) => dispatched.push(id);
    harness.deps.syncComment = async (target) => synced.push(target.targetNumber);
    // The job that opened pull request 2 from issue 1.
    opener = await makeJob(database.db, {
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      targetNumber: 1,
      jobType: "implement",
      status: "completed",
    });
    await database.db
      .update(jobs)
      .set({ resultUrl: `https://github.com/${REPO.fullName}/pull/${PULL}` })
      .where(eq(jobs.id, opener.id));
  });

  it("a writer's changes-requested review on an agent's pull request starts one revise round on it, with the review", async () => {
    const scope = mockPermission(mockToken(api()), "mona", "write");
    await harness.deliver(
      reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 77 }),
      "review-1",
    );
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [round] = await pullJobs(database.db);
    expect(round).toMatchObject({
      jobType: "revise",
      targetKind: "pull_request",
      targetNumber: PULL,
      status: "pending",
      parentJobId: opener.id,
      reviewRound: 1,
      triggeredBy: "mona",
      review: {
        reviewId: 77,
        commentId: null,
        inThread: false,
        author: "mona",
        state: "changes_requested",
        body: "Please make the widgets blue.",
      },
    });
    expect(dispatched).toEqual([round?.id]);
    // The same delivery again records nothing new.
    await harness.deliver(
      reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 77 }),
      "review-1",
    );
    expect(await pullJobs(database.db)).toHaveLength(1);
  });

  it("a second review while the round runs is a duplicate; past max_review_rounds the request is refused with a reason", async () => {
    const scope = mockPermission(mockToken(api()), "mona", "write");
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 1 }), "r1");
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 2 }), "r2");
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [first, second] = await pullJobs(database.db);
    expect(first).toMatchObject({ reviewRound: 1, status: "pending" });
    expect(second).toMatchObject({ status: "cancelled", duplicateOf: first?.id });
    // Round 1 ends; round 2 runs and ends; a third request is past the limit of 2.
    const end = (id: number) =>
      database.db
        .update(jobs)
        .set({ status: "completed" })
        .where(and(eq(jobs.id, id)));
    await end(first?.id ?? 0);
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 3 }), "r3");
    const round2 = (await pullJobs(database.db)).at(-1);
    expect(round2).toMatchObject({ reviewRound: 2, status: "pending" });
    await end(round2?.id ?? 0);
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 4 }), "r4");
    const refused = (await pullJobs(database.db)).at(-1);
    expect(refused).toMatchObject({ status: "cancelled", failureCode: "CANCELLED", reviewRound: null });
    expect(refused?.failureMessage).toContain(
      `job #${opener.id}'s pull request has had 2 review rounds, the most \`implement\` allows (max_review_rounds: 2)`,
    );
    expect(synced).toContain(PULL);
    await harness.settle();
  });

  it("a review by someone without write access, by a bot, or that approves starts nothing", async () => {
    const scope = mockPermission(mockToken(api()), "stranger", "read");
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "stranger" }), "s1");
    await harness.deliver(
      reviewSubmitted({ reviewState: "changes_requested", reviewer: "helper[bot]", reviewerType: "Bot" }),
      "b1",
    );
    await harness.deliver(reviewSubmitted({ reviewState: "approved", reviewer: "stranger" }), "a1");
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await pullJobs(database.db)).toEqual([]);
  });

  it("on a pull request no labelrun job opened, or whose job type has no on_review, a review starts nothing and costs no GitHub request", async () => {
    await database.db.update(jobs).set({ jobType: "plain" }).where(eq(jobs.id, opener.id));
    // Not even the reviewer's permission is asked: no GitHub request at all (the suite fails on an undeclared one).
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona" }), "p1");
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", number: 99 }), "p2");
    await harness.settle();
    expect(await pullJobs(database.db)).toEqual([]);
  });

  it("/labelrun revise in a review thread starts a round with the request, reacting on the review comment", async () => {
    const reactions: string[] = [];
    const scope = mockPermission(mockToken(api()), "mona", "write")
      .post(`/repos/${REPO.fullName}/pulls/comments/7001/reactions`, (body) => {
        // nock may try this matcher on other requests: record only reaction bodies.
        if (typeof body?.content === "string") reactions.push(body.content);
        return true;
      })
      .times(2)
      .reply(201, {});
    // A command's round is dispatched by the command itself: the repository config, the pull request, its comment.
    mockIssue(mockConfig(scope, null), PULL);
    // …and its check run, on the pull request's head commit (the comment event does not name it).
    const checks: Array<Record<string, unknown>> = [];
    scope
      .get(`/repos/${REPO.fullName}/pulls/${PULL}`)
      .reply(200, { number: PULL, head: { ref: "feature", sha: "c".repeat(40) } })
      .post(`/repos/${REPO.fullName}/check-runs`, (body) => {
        if (body?.name) checks.push(body);
        return true;
      })
      .reply(201, { id: 31 });
    scope.post(`/repos/${REPO.fullName}/issues/${PULL}/comments`).reply(201, { id: 555 });
    await harness.deliver(
      reviewCommented({ body: "/labelrun revise use blue here", sender: { login: "mona" }, commentId: 7001 }),
      "t1",
    );
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(reactions).toEqual(["eyes", "+1"]);
    const [round] = await pullJobs(database.db);
    expect(round).toMatchObject({
      jobType: "revise",
      reviewRound: 1,
      review: {
        reviewId: null,
        commentId: 7001,
        inThread: true,
        author: "mona",
        state: "commented",
        body: "use blue here",
      },
    });
    expect(round?.status).toBe("queued");
    expect(checks).toMatchObject([
      { name: "revise", head_sha: "c".repeat(40), status: "queued", external_id: String(round?.id) },
    ]);
  });

  it("a hostile review (huge body, NUL bytes, mentions, markup) is recorded bounded and the server keeps answering", async () => {
    const scope = mockPermission(mockToken(api()), "mona", "write");
    const body = `@everyone <script>alert(1)</script>\u0000${"x".repeat(70_000)}`;
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", body }), "h1");
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [round] = await pullJobs(database.db);
    expect(round?.review?.body.length).toBeLessThanOrEqual(65_536);
    expect(round?.review?.body).not.toContain("\u0000");
  });

  it("a round that completes replies in the threads the review opened, with its summary and link, once", async () => {
    const scope = mockPermission(mockToken(api()), "mona", "write");
    await harness.deliver(reviewSubmitted({ reviewState: "changes_requested", reviewer: "mona", reviewId: 77 }), "z1");
    expect(scope.isDone()).toBe(true);
    const [round] = await pullJobs(database.db);
    const done = await transitionJob(database.db, {
      jobId: round?.id ?? 0,
      from: "pending",
      to: "queued",
      at: T0,
      actor: "test",
    }).then(() =>
      database.db
        .update(jobs)
        .set({
          status: "completed",
          resultSummary: "Made the widgets <b>blue</b> @team",
          resultUrl: `https://github.com/${REPO.fullName}/pull/${PULL}`,
          reactionVersion: 5,
        })
        .where(eq(jobs.id, round?.id ?? 0))
        .returning(),
    );
    expect(done).toHaveLength(1);
    const replies: string[] = [];
    const github = api()
      .get(`/repos/${REPO.fullName}/pulls/${PULL}/reviews/77/comments`)
      .query(true)
      .reply(200, [{ id: 501 }, { id: 502, in_reply_to_id: 501 }, { id: 503 }])
      .post(new RegExp(`/repos/${REPO.fullName}/pulls/${PULL}/comments/50[13]/replies$`), (body) => {
        if (typeof body?.body === "string") replies.push(body.body);
        return true;
      })
      .times(2)
      .reply(201, { id: 900 });
    const deps = {
      db: database.db,
      github: harness.github,
      jobTypes: JOB_TYPES,
      clock: harness.clock,
      log: harness.deps.log,
      dispatch: async () => {},
    };
    await reactToJob(deps, round?.id ?? 0);
    expect(github.isDone()).toBe(true);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain(`**labelrun review round 1 (job #${round?.id}) is done:**`);
    expect(replies[0]).toContain(`https://github.com/${REPO.fullName}/pull/${PULL}`);
    expect(replies[0]).not.toContain("<b>");
    expect(replies[0]).not.toMatch(/(^|\s)@team/);
    const after = await getJob(database.db, round?.id ?? 0);
    expect(after?.threadsAnsweredAt).not.toBeNull();
    // The next reaction finds the proof and replies nowhere again.
    await reactToJob(deps, round?.id ?? 0);
    expect(replies).toHaveLength(2);
  });
});
