import { beforeEach, describe, expect, it } from "vitest";
import { parseJobTypes } from "../../src/config/job-types.js";
import { commentCommands } from "../../src/db/schema.js";
import { parseCommand } from "../../src/github/commands/parse-command.js";
import { findJobsForTarget, getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { closed, commented, labeled, REPO } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import {
  api,
  makeGitHubHarness,
  mockConfig,
  mockIssue,
  mockPermission,
  mockReactions,
  mockToken,
} from "../support/github-harness.js";

const COMMENTS = "/repos/Codertocat/Hello-World/issues/1/comments";
const target = { repositoryId: REPO.id, targetNumber: 1 };
const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
    follow_up: review
  review:
    command: [node, r.mjs]
    label: "agent:review"
    after: [implement]
  gated:
    command: [node, g.mjs]
    label: "agent:gated"
    require_approval: true
`);

describe("parseCommand", () => {
  it.each([
    ["/labelrun retry", { kind: "command", command: "retry", jobType: null }],
    ["thanks!\n/labelrun Cancel review\n", { kind: "command", command: "cancel", jobType: "review" }],
    ["/labelrun frobnicate", { kind: "unknown", word: "frobnicate" }],
    ["> /labelrun cancel\nquoted, not a command", null],
    ["```\n/labelrun cancel\n```", null],
    ["please run /labelrun cancel later", null],
    ["~~~\n/labelrun cancel\n~~~", null],
    ["````\n```\n/labelrun cancel\n````", null],
    ["    /labelrun cancel", null],
    ["<!-- /labelrun cancel -->", null],
    ["<!--\n/labelrun cancel\n-->\nvisible text", null],
    ["/labelrunner cancel", null],
    ["/labelrun cancel review, it is stuck", { kind: "command", command: "cancel", jobType: "review" }],
    ["```\ncode\n```\n/labelrun approve", { kind: "command", command: "approve", jobType: null }],
    ["/labelrun `@octo-org/team`", { kind: "unknown", word: null }],
    ["/labelrun frob<img>", { kind: "unknown", word: null }],
  ])("%j", (body, expected) => {
    expect(parseCommand(body)).toEqual(expected);
  });
});

describe.each(testDrivers)("comment commands, approvals and chains (%s)", (driver) => {
  const database = useTestDatabase(driver);
  let harness: Awaited<ReturnType<typeof makeGitHubHarness>>;
  beforeEach(async () => {
    await seedInstallation(database.db, 2);
    harness = await makeGitHubHarness(database.db, JOB_TYPES);
  });

  const onIssue = (overrides: Parameters<typeof makeJob>[1] = {}) =>
    makeJob(database.db, {
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      targetNumber: 1,
      ...overrides,
    });

  it("a writer's /labelrun cancel cancels the job, with 👀 then 👍 and the commenter as actor", async () => {
    const job = await onIssue({ status: "queued" });
    const reactions: string[] = [];
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    mockReactions(scope, 9001, reactions);
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(commented({ body: "/labelrun cancel" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(reactions).toEqual(["eyes", "+1"]);
    expect(await getJob(database.db, job.id)).toMatchObject({
      status: "cancelled",
      failureMessage: "cancelled by @octocat with `/labelrun cancel`",
    });
    expect((await listJobEvents(database.db, job.id)).at(-1)?.actor).toBe("github:octocat");
  });

  it("a command carried out by two processes at once runs once (its row is claimed by compare-and-set)", async () => {
    const job = await onIssue({ status: "queued" });
    const row = {
      commentId: 4242,
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      targetNumber: 1,
      author: "octocat",
      command: "cancel",
      jobType: null,
      createdAt: T0,
    };
    const [inserted] = await database.db.insert(commentCommands).values(row).returning();
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    mockReactions(scope, 4242, []);
    scope.post(COMMENTS).reply(201, { id: 555 });
    const outcomes = await Promise.all([
      harness.deps.runCommand(inserted as never),
      harness.deps.runCommand(inserted as never),
    ]);
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(outcomes.filter((o) => (o as { message: string }).message === "already taken")).toHaveLength(1);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "cancelled" });
  });

  it("someone without write access gets 😕 and nothing else — no reply in the App's voice — and nothing changes", async () => {
    const job = await onIssue({ status: "queued" });
    const reactions: string[] = [];
    const scope = mockPermission(mockToken(api()), "octocat", "read");
    mockReactions(scope, 9001, reactions, 1);
    await harness.deliver(commented({ body: "/labelrun cancel" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(reactions).toEqual(["confused"]);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "queued" });
    expect(await database.db.select().from(commentCommands)).toMatchObject([{ state: "refused" }]);
  });

  it("one person's flood of commands is cut after ten a minute: the rest are ignored, costing nothing", async () => {
    const scope = mockPermission(mockToken(api()), "octocat", "read");
    scope
      .post(/\/reactions$/)
      .times(10)
      .reply(201, {});
    for (let i = 0; i < 15; i++) await harness.deliver(commented({ body: "/labelrun cancel", commentId: 500 + i }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await database.db.select().from(commentCommands)).toHaveLength(10);
  });

  it("bots never command, and the same comment delivered twice acts once", async () => {
    await onIssue({ status: "queued" });
    await harness.deliver(commented({ body: "/labelrun cancel", sender: { login: "dependabot[bot]", type: "Bot" } }));
    await harness.settle();
    expect(await database.db.select().from(commentCommands)).toEqual([]);
    const scope = mockPermission(mockToken(api()), "octocat", "admin");
    mockReactions(scope, 9001, []);
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(commented({ body: "/labelrun cancel" }), "same-comment");
    await harness.deliver(commented({ body: "/labelrun cancel" }), "same-comment-redelivered");
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await database.db.select().from(commentCommands)).toMatchObject([{ state: "done", command: "cancel" }]);
  });

  it("unknown commands, commands for a job type the target lacks, and targets with no job get a reply saying why", async () => {
    const replies: string[] = [];
    const scope = mockToken(api());
    scope
      .post(COMMENTS, (b) => typeof b?.body !== "string" || replies.push(b.body) > 0)
      .times(3)
      .reply(201, { id: 1 });
    scope
      .post(/\/reactions$/)
      .times(5)
      .reply(201, {});
    mockPermission(scope, "octocat", "write");
    await harness.deliver(commented({ body: "/labelrun frobnicate", commentId: 1 }));
    await harness.deliver(commented({ body: "/labelrun cancel", commentId: 2 }));
    await harness.settle();
    await onIssue({ status: "queued", jobType: "implement" });
    await harness.deliver(commented({ body: "/labelrun cancel review", commentId: 3 }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(replies).toEqual([
      expect.stringMatching(/`\/labelrun frobnicate` is not a command\. Known: retry, cancel/),
      "There is no active labelrun job on this issue to cancel.",
      "There is no active labelrun `review` job on this issue to cancel.",
    ]);
  });

  it("an unknown command word a stranger crafted is not repeated in the reply", async () => {
    const replies: string[] = [];
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    scope
      .post(COMMENTS, (b) => typeof b?.body !== "string" || replies.push(b.body) > 0)
      .reply(201, { id: 1 })
      .post(/\/reactions$/)
      .reply(201, {});
    await harness.deliver(commented({ body: "/labelrun x`@octo-org/everyone`", commentId: 7 }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(/, that is not a command\. Known:/);
    expect(replies[0]).not.toContain("octo-org");
  });

  it("with jobs of two types, a command must name the type", async () => {
    await onIssue({ status: "queued", jobType: "implement" });
    await onIssue({ status: "queued", jobType: "gated" });
    const replies: string[] = [];
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    mockReactions(scope, 9001, []);
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || replies.push(b.body) > 0).reply(201, { id: 1 });
    await harness.deliver(commented({ body: "/labelrun pause" }));
    await harness.settle();
    expect(replies[0]).toMatch(
      /several types \((implement, gated|gated, implement)\): say which, e\.g\. `\/labelrun pause/,
    );
  });

  it("a job type that needs approval waits; /labelrun approve queues it; /labelrun reject cancels another", async () => {
    const bodies: string[] = [];
    const scope = mockIssue(mockConfig(mockToken(api()), null), 1);
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "agent:gated" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "pending", hold: "awaiting_approval" });
    expect(bodies[0]).toContain("`gated` — pending (awaiting approval)");
    expect(bodies[0]).toContain("| Waiting | for approval: someone with write access comments `/labelrun approve` |");

    const approve = mockPermission(api(), "octocat", "maintain");
    mockReactions(approve, 9001, []);
    // The config read at the trigger answers (fresh for five minutes).
    mockIssue(approve, 1).patch("/repos/Codertocat/Hello-World/issues/comments/555").reply(200, {});
    await harness.deliver(commented({ body: "/labelrun approve" }));
    await harness.settle();
    expect(approve.isDone()).toBe(true);
    expect(await getJob(database.db, job?.id ?? 0)).toMatchObject({
      status: "queued",
      hold: null,
      approvedBy: "octocat",
    });

    const other = await onIssue({ jobType: "gated", targetNumber: 2, status: "pending" });
    await database.db.execute(
      (await import("drizzle-orm")).sql`update jobs set hold = 'awaiting_approval' where id = ${other.id}`,
    );
    const reject = api();
    mockReactions(reject, 9002, []);
    reject.post("/repos/Codertocat/Hello-World/issues/2/comments").reply(201, { id: 777 });
    await harness.deliver(commented({ body: "/labelrun reject", commentId: 9002, number: 2 }));
    await harness.settle();
    expect(reject.isDone()).toBe(true);
    expect(await getJob(database.db, other.id)).toMatchObject({
      status: "cancelled",
      failureMessage: "rejected by @octocat with `/labelrun reject`",
    });
  });

  it("pause holds a queued job (back to deferred) until resume; interrupt refuses a job that is not running", async () => {
    const job = await onIssue({ status: "queued" });
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    scope
      .post(/\/reactions$/)
      .times(6)
      .reply(201, {});
    scope.post(COMMENTS).reply(201, { id: 555 });
    // The pause creates the comment; the resume edits it.
    scope.patch("/repos/Codertocat/Hello-World/issues/comments/555").reply(200, {});
    await harness.deliver(commented({ body: "/labelrun pause", commentId: 1 }));
    await harness.settle();
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "deferred", hold: "paused" });
    await harness.deliver(commented({ body: "/labelrun resume", commentId: 2 }));
    await harness.settle();
    const resumed = await getJob(database.db, job.id);
    expect(resumed).toMatchObject({ status: "deferred", hold: null });
    expect(resumed?.runAfter?.getTime()).toBeLessThanOrEqual(Date.now());
    scope.post(COMMENTS).reply(201, { id: 1 });
    await harness.deliver(commented({ body: "/labelrun interrupt", commentId: 3 }));
    await harness.settle();
    expect((await database.db.select().from(commentCommands)).find((c) => c.commentId === 3)).toMatchObject({
      state: "refused",
      outcome: expect.stringMatching(/only a running job can be interrupted/),
    });
  });

  it("interrupt stops a running job now: deferred, paused, the attempt not spent", async () => {
    const job = await onIssue({ status: "running" });
    await database.db.execute((await import("drizzle-orm")).sql`update jobs set attempt = 2 where id = ${job.id}`);
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    mockReactions(scope, 9001, []);
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(commented({ body: "/labelrun interrupt" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "deferred", hold: "paused", attempt: 1 });
  });

  it("a writer's reply to the agent's question answers it and queues the job again", async () => {
    const job = await onIssue({ status: "deferred" });
    await database.db.execute(
      (await import("drizzle-orm"))
        .sql`update jobs set hold = 'awaiting_input', question = 'Which database?', question_asked_at = ${T0.toISOString()}::timestamptz, question_comment_id = 42 where id = ${job.id}`,
    );
    const scope = mockPermission(mockToken(api()), "octocat", "write");
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(commented({ body: "PostgreSQL, please.", createdAt: "2026-03-01T12:30:00Z" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await getJob(database.db, job.id)).toMatchObject({
      status: "queued",
      hold: null,
      answers: [{ by: "octocat", body: "PostgreSQL, please.", at: "2026-03-01T12:30:00.000Z" }],
    });
  });

  it("a completed implement job with a pull request starts a review job on that PR; a failed one cancels its blocked child", async () => {
    const parent = await onIssue({ status: "running" });
    // A review triggered on the issue while implement runs waits, blocked by it.
    const scope = mockToken(api());
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "agent:review" }));
    await harness.settle();
    const blocked = (await findJobsForTarget(database.db, target)).find((j) => j.jobType === "review");
    expect(blocked).toMatchObject({ status: "pending", hold: "blocked_by", blockedBy: parent.id });

    const done = await transitionJob(database.db, {
      jobId: parent.id,
      from: "running",
      to: "completed",
      at: T0,
      actor: "test",
      patch: { resultUrl: "https://github.com/Codertocat/Hello-World/pull/8" },
    });
    const follow = mockConfig(api(), null);
    mockIssue(follow, 8).post("/repos/Codertocat/Hello-World/issues/8/comments").reply(201, { id: 800 });
    // The review job on the pull request gets its check run, on the PR's head.
    follow
      .get("/repos/Codertocat/Hello-World/pulls/8")
      .reply(200, { number: 8, head: { ref: "feature", sha: "d".repeat(40) } })
      .post("/repos/Codertocat/Hello-World/check-runs")
      .reply(201, { id: 61 });
    // The unblocked job's dispatch: the config read a moment ago answers.
    mockIssue(follow, 1).patch("/repos/Codertocat/Hello-World/issues/comments/555").reply(200, {});
    follow.delete("/repos/Codertocat/Hello-World/issues/1/labels/agent%3Aimplement").reply(200, []);
    if (done.ok) await harness.deps.onJobChanged(done.job);
    expect(follow.isDone()).toBe(true);
    const onPr = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 8 });
    expect(onPr).toMatchObject([
      { jobType: "review", targetKind: "pull_request", parentJobId: parent.id, status: "queued" },
    ]);
    expect(await getJob(database.db, blocked?.id ?? 0)).toMatchObject({ status: "queued", hold: null });
  });

  it("a job blocked by one that fails is cancelled with the reason", async () => {
    const parent = await onIssue({ status: "running" });
    const child = await onIssue({ jobType: "review" });
    await database.db.execute(
      (await import("drizzle-orm"))
        .sql`update jobs set hold = 'blocked_by', blocked_by = ${parent.id} where id = ${child.id}`,
    );
    const failed = await transitionJob(database.db, {
      jobId: parent.id,
      from: "running",
      to: "failed",
      at: T0,
      actor: "test",
      code: "TIMEOUT",
    });
    const scope = mockToken(api()).post(COMMENTS).reply(201, { id: 555 });
    scope.patch("/repos/Codertocat/Hello-World/issues/comments/555").optionally().reply(200, {});
    scope.delete("/repos/Codertocat/Hello-World/issues/1/labels/agent%3Aimplement").reply(200, []);
    if (failed.ok) await harness.deps.onJobChanged(failed.job);
    expect(await getJob(database.db, child.id)).toMatchObject({
      status: "cancelled",
      failureMessage: `job #${parent.id} it waited for ended failed (TIMEOUT)`,
    });
  });

  it("with require_approval_for_outsiders, a trigger on an issue opened by someone without write access waits for approval", async () => {
    const yaml = "require_approval_for_outsiders: true\n";
    const scope = mockConfig(mockToken(api()), yaml);
    // The issue's author (octocat, per the issue answer) has read access only.
    mockIssue(scope, 1);
    mockPermission(scope, "octocat", "read");
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "pending", hold: "awaiting_approval" });
  });

  it("a job whose result is a pull request follows it: merged shows on its comment, without reopening the job", async () => {
    const job = await onIssue({ status: "running", jobType: "gated" });
    await transitionJob(database.db, {
      jobId: job.id,
      from: "running",
      to: "completed",
      at: T0,
      actor: "test",
      patch: { resultUrl: "https://github.com/Codertocat/Hello-World/pull/8" },
    });
    const bodies: string[] = [];
    const scope = mockToken(api())
      .post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(201, { id: 555 });
    const event = closed({ kind: "pull_request", number: 8 });
    (event.payload.pull_request as Record<string, unknown>).merged = true;
    (event.payload.pull_request as Record<string, unknown>).html_url =
      "https://github.com/Codertocat/Hello-World/pull/8";
    await harness.deliver(event);
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "completed", resultPrState: "merged" });
    expect(bodies[0]).toContain("https://github.com/Codertocat/Hello-World/pull/8 (merged)");
  });
});
