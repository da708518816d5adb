import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { jobs, statusComments } from "../../src/db/schema.js";
import { getStatusComment } from "../../src/github/status-comment/status-comment-store.js";
import { findJobsForTarget, getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { closed, installationEvent, labeled, REPO, repositoriesEvent, unlabeled } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";
import { api, makeGitHubHarness, mockConfig, mockIssue, mockToken } from "../support/github-harness.js";

const COMMENTS = "/repos/Codertocat/Hello-World/issues/1/comments";
const COMMENT_555 = "/repos/Codertocat/Hello-World/issues/comments/555";
const target = { repositoryId: REPO.id, targetNumber: 1 };

describe.each(testDrivers)("labels in, one living comment out (%s)", (driver) => {
  const database = useTestDatabase(driver);
  let harness: Awaited<ReturnType<typeof makeGitHubHarness>>;
  beforeEach(async () => {
    harness = await makeGitHubHarness(database.db);
  });

  /** Delivers `agent:implement` on issue 1 and lets dispatch post the comment (as id 555). */
  async function triggerFirstJob(bodies: string[] = []) {
    const scope = mockConfig(mockToken(api()), null);
    mockIssue(scope, 1);
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    if (!job) throw new Error("no job");
    return job;
  }

  it("a first trigger records a pending job before any GitHub call, then queues it and posts one comment", async () => {
    const bodies: string[] = [];
    const scope = mockConfig(mockToken(api()), null);
    mockIssue(scope, 1);
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0).reply(201, { id: 555 });

    await harness.deliver(labeled({ label: "agent:implement" }));
    // The webhook is answered: the job is committed and GitHub has not been called yet.
    const [recorded] = await findJobsForTarget(database.db, target);
    expect(recorded).toMatchObject({ status: "pending", jobType: "implement", triggeredBy: "octocat", maxAttempts: 2 });
    expect(recorded?.timeoutSeconds).toBe(1800);
    expect(scope.pendingMocks().length).toBeGreaterThan(0);

    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await getJob(database.db, recorded?.id ?? 0)).toMatchObject({ status: "queued" });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain("<!-- labelrun:status-comment -->");
    expect(bodies[0]).toContain("`implement` — queued");
    expect(bodies[0]).toContain("To cancel, remove the `agent:implement` label.");
    expect(await getStatusComment(database.db, REPO.id, 1)).toMatchObject({ commentId: 555, dirtySince: null });
  });

  it("a trigger whose webhook showed the issue open moments ago is dispatched without reading the issue again; an old event reads it", async () => {
    // The harness's clock stands at T0: a label added then, and one from a year-old (redelivered) event.
    const fresh = labeled({ label: "agent:implement", number: 1 });
    fresh.payload.issue.updated_at = harness.clock.now().toISOString();
    const scope = mockConfig(mockToken(api()), null);
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(fresh);
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "queued", targetOpenAt: harness.clock.now() });

    const old = labeled({ label: "agent:implement", number: 2 });
    old.payload.issue.updated_at = "2025-03-01T12:00:00Z";
    const again = mockIssue(api(), 2);
    again.post("/repos/Codertocat/Hello-World/issues/2/comments").reply(201, { id: 556 });
    await harness.deliver(old);
    await harness.settle();
    expect(again.isDone()).toBe(true);
  });

  it("a later transition edits the same comment, and an unchanged render is not sent again", async () => {
    const job = await triggerFirstJob();
    const bodies: string[] = [];
    const scope = api()
      .patch(COMMENT_555, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(200, { id: 555 });
    await transitionJob(database.db, { jobId: job.id, from: "queued", to: "running", at: T0, actor: "test" });
    await harness.deps.syncComment({
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      targetNumber: 1,
    });
    expect(scope.isDone()).toBe(true);
    expect(bodies[0]).toContain("`implement` — running");
    // Nothing visible changed: no request (nock would fail on an unexpected one).
    expect(
      await harness.deps.syncComment({
        installationId: 2,
        repositoryId: REPO.id,
        repositoryFullName: REPO.fullName,
        targetNumber: 1,
      }),
    ).toBe("unchanged");
  });

  it("a duplicate trigger is recorded cancelled and the comment still leads with the earlier job and folds the duplicate into one line", async () => {
    const job = await triggerFirstJob();
    const bodies: string[] = [];
    const scope = api()
      .patch(COMMENT_555, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(200, { id: 555 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const all = await findJobsForTarget(database.db, target);
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ status: "cancelled", duplicateOf: job.id, failureCode: "DUPLICATE" });
    expect(bodies[0]).toContain(`1 duplicate trigger while job #${job.id} was active was ignored.`);
    expect(bodies[0]).toContain("`implement` — queued");
    expect(bodies[0]).toContain("To cancel, remove the `agent:implement` label.");
  });

  it("removing the trigger label cancels its job and the comment follows", async () => {
    const job = await triggerFirstJob();
    const bodies: string[] = [];
    const scope = api()
      .patch(COMMENT_555, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(200, { id: 555 });
    await harness.deliver(unlabeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    expect(await getJob(database.db, job.id)).toMatchObject({
      status: "cancelled",
      failureCode: "CANCELLED",
      failureMessage: "the `agent:implement` label was removed by @octocat",
    });
    expect(bodies[0]).toContain("`implement` — cancelled");
  });

  it("closing the issue cancels every active job on it, of every job type", async () => {
    await triggerFirstJob();
    // The config read for the first job answers for the second (read again after FRESH_CONFIG_MS).
    const scope = mockIssue(api(), 1);
    scope.patch(COMMENT_555).reply(200, { id: 555 });
    await harness.deliver(labeled({ label: "agent:review" }));
    await harness.settle();
    scope.patch(COMMENT_555).reply(200, { id: 555 });
    await harness.deliver(closed({}));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const all = await findJobsForTarget(database.db, target);
    expect(all.map((j) => [j.jobType, j.status])).toEqual([
      ["review", "cancelled"],
      ["implement", "cancelled"],
    ]);
    expect(all[0]?.failureMessage).toBe("the issue was closed by @octocat");
  });

  it("re-labelling after a failure records a new job that points at the failed one", async () => {
    const job = await triggerFirstJob();
    await transitionJob(database.db, { jobId: job.id, from: "queued", to: "running", at: T0, actor: "test" });
    await transitionJob(database.db, {
      jobId: job.id,
      from: "running",
      to: "failed",
      at: T0,
      actor: "test",
      code: "AGENT_ERROR",
    });
    const bodies: string[] = [];
    const scope = mockIssue(api(), 1)
      .patch(COMMENT_555, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(200, { id: 555 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [retry] = await findJobsForTarget(database.db, target);
    expect(retry).toMatchObject({ status: "queued", retryOf: job.id, retryNumber: 1 });
    expect(bodies[0]).toContain("Earlier attempts (1)");
    expect(bodies[0]).toContain("`AGENT_ERROR`");
  });

  it("a config that does not parse fails the job with VALIDATION_ERROR and the comment quotes line and column", async () => {
    const bodies: string[] = [];
    const scope = mockConfig(mockToken(api()), "triggers:\n  agent:implement: implement\n   bad: [indent\n");
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0).reply(201, { id: 555 });
    // The job ended: its trigger label is removed so adding it again retries.
    scope.delete("/repos/Codertocat/Hello-World/issues/1/labels/agent%3Aimplement").reply(200, []);
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "failed", failureCode: "VALIDATION_ERROR" });
    expect(job?.failureMessage).toBe(
      ".github/labelrun.yml does not parse: line 2, column 20: Nested mappings are not allowed in compact mappings",
    );
    expect(bodies[0]).toContain("`VALIDATION_ERROR`");
    expect(bodies[0]).toContain("line 2, column 20");
  });

  it("a repository in dry_run records the job and says what would run, and no agent starts", async () => {
    const yaml = "dry_run: true\n";
    const bodies: string[] = [];
    const scope = mockIssue(mockConfig(mockToken(api()), yaml), 1)
      .post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0)
      .reply(201, { id: 557 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "cancelled", failureCode: "DRY_RUN", queuedAt: null, attempt: 0 });
    expect(job?.failureMessage).toMatch(
      /^dry run \(`dry_run: true` in \.github\/labelrun\.yml\): the job type `implement` would run now; no agent started$/,
    );
    expect(bodies.at(-1)).toContain("`DRY_RUN` dry run");
  });

  it("a flood of labels on a repository whose config was never read reads it once, and every trigger among them records its job", async () => {
    // Before: each label queued a read of its own (2 requests each), a flood's worth after the response.
    let reads = 0;
    const yaml = 'triggers:\n  "agent:custom": implement\n';
    const scope = mockToken(api())
      .get((uri) => /\/contents\/\.github(%2F|\/)labelrun\.yml/.test(uri))
      .optionally()
      .times(50)
      .reply(() => {
        reads++;
        return [200, yaml, { "content-type": "application/vnd.github.v3.raw; charset=utf-8" }];
      })
      .post(/\/repos\/Codertocat\/Hello-World\/issues\/[1-3]\/comments$/)
      .times(3)
      .reply(201, () => ({ id: 600 + reads }));
    const label = (number: number, name: string) => {
      const event = labeled({ label: name, number });
      // Open moments ago: dispatch need not read the issue again.
      event.payload.issue.updated_at = harness.clock.now().toISOString();
      return event;
    };
    await Promise.all([
      ...[1, 2, 3].map((n) => harness.deliver(label(n, "agent:custom"))),
      ...Array.from({ length: 30 }, (_, i) => harness.deliver(label(10 + i, `bug-${i % 5}`))),
      // The same label on the same issue again: looked at once.
      harness.deliver(label(1, "agent:custom")),
    ]);
    await harness.settle();
    expect(reads).toBe(1);
    const created = await database.db.select().from(jobs);
    expect(created.map((job) => job.targetNumber).sort()).toEqual([1, 2, 3]);
    expect(created.every((job) => job.jobType === "implement" && job.triggerLabel === "agent:custom")).toBe(true);
    expect(scope.pendingMocks()).toEqual([]);
  });

  it("a trigger naming an unknown job type fails with VALIDATION_ERROR that lists the known ones", async () => {
    const yaml = 'triggers:\n  "agent:reveiw": reveiw\n';
    const bodies: string[] = [];
    // First label: the repository's config was never read, so it is read after the response…
    const scope = mockConfig(mockToken(api()), yaml);
    // …the label turns out to be a trigger, a job is recorded and dispatched (the config just read answers).
    scope.post(COMMENTS, (b) => typeof b?.body !== "string" || bodies.push(b.body) > 0).reply(201, { id: 555 });
    // The job ended: its trigger label is removed.
    scope.delete("/repos/Codertocat/Hello-World/issues/1/labels/agent%3Areveiw").reply(200, []);
    await harness.deliver(labeled({ label: "agent:reveiw" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "failed", failureCode: "VALIDATION_ERROR", jobType: "reveiw" });
    expect(job?.failureMessage).toBe(
      ".github/labelrun.yml `triggers`: the label `agent:reveiw` names an unknown job type `reveiw` — known: implement, review",
    );
    expect(bodies[0]).toContain("unknown job type `reveiw`");
  });

  it.each([
    [
      "an 11 MB file",
      `triggers:\n${Array.from({ length: 400_000 }, (_, i) => `  "agent:x${i}": implement\n`).join("")}`,
      /^\.github\/labelrun\.yml \(or a file it extends\) is \d+ bytes; labelrun reads at most 16384$/,
    ],
    [
      "101 trigger labels",
      `triggers:\n${Array.from({ length: 101 }, (_, i) => `  "agent:x${i}": implement\n`).join("")}  "agent:implement": implement\n`,
      /`triggers`: at most 100 trigger labels/,
    ],
    [
      "a mapping of 300 keys (small, but slow to read)",
      `triggers:\n  "agent:implement": implement\nnotes:\n${Array.from({ length: 300 }, (_, i) => `  k${i}: 1\n`).join("")}`,
      /^\.github\/labelrun\.yml \(or a file it extends\): a mapping has 300 keys; labelrun reads at most 200$/,
    ],
    [
      "nesting deep enough to exhaust the parser",
      `triggers: ${"[".repeat(12_000)}`,
      /^\.github\/labelrun\.yml \(or a file it extends\): it nests too deeply to read$/,
    ],
    [
      "an _extends it cannot follow",
      '_extends: "../../etc/passwd"\ntriggers:\n  "agent:implement": implement\n',
      /^\.github\/labelrun\.yml: .*_extends/,
    ],
  ])("a repository config with %s fails the job with VALIDATION_ERROR, once, instead of being read again", async (_what, yaml, message) => {
    // The label is a default trigger: the job is recorded at once, and dispatching reads the file once.
    const scope = mockConfig(mockToken(api()), yaml)
      .post(COMMENTS)
      .reply(201, { id: 556 })
      .delete("/repos/Codertocat/Hello-World/issues/1/labels/agent%3Aimplement")
      .reply(200, []);
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "failed", failureCode: "VALIDATION_ERROR" });
    expect(job?.failureMessage).toMatch(message);
  });

  it("a rate limit met while dispatching defers the job until the limit resets", async () => {
    const reset = Math.floor(T0.getTime() / 1000) + 900;
    const scope = mockToken(api())
      .get(/labelrun\.yml/)
      .reply(
        403,
        { message: "API rate limit exceeded" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      );
    scope.post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "deferred", failureCode: "RATE_LIMITED", runAfter: new Date(reset * 1000) });

    // Due again and still limited: it stays deferred, now until the new reset.
    const later = reset + 600;
    const again = api()
      .get(/labelrun\.yml/)
      .reply(
        403,
        { message: "API rate limit exceeded" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(later) },
      )
      // The comment shows the new waiting time.
      .patch(COMMENT_555, (b) => typeof b.body === "string" && b.body.includes("`RATE_LIMITED`"))
      .reply(200, { id: 555 });
    expect(await harness.deps.dispatch(job?.id ?? 0)).toBe("deferred");
    expect(again.isDone()).toBe(true);
    expect(await getJob(database.db, job?.id ?? 0)).toMatchObject({
      status: "deferred",
      runAfter: new Date(later * 1000),
    });
    expect((await listJobEvents(database.db, job?.id ?? 0)).at(-1)).toMatchObject({
      fromStatus: "deferred",
      toStatus: "deferred",
      code: "RATE_LIMITED",
    });
  });

  it("uninstalling the app abandons every active job with ACCESS_REVOKED", async () => {
    const job = await triggerFirstJob();
    await harness.deliver(installationEvent("deleted"));
    await harness.settle();
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "abandoned", failureCode: "ACCESS_REVOKED" });
    expect((await listJobEvents(database.db, job.id)).at(-1)).toMatchObject({
      toStatus: "abandoned",
      actor: "github:octocat",
    });
  });

  it("removing a repository from the installation abandons its active jobs", async () => {
    const job = await triggerFirstJob();
    await harness.deliver(repositoriesEvent("removed"));
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "abandoned", failureCode: "ACCESS_REVOKED" });
  });

  it("the same delivery twice records one job", async () => {
    await triggerFirstJob();
    const [first] = await findJobsForTarget(database.db, target);
    await harness.deliver(labeled({ label: "agent:implement" }), first?.deliveryId ?? "");
    await harness.settle();
    expect(await findJobsForTarget(database.db, target)).toHaveLength(1);
  });

  it("labels added by bots, labels that trigger nothing and closed targets are ignored cheaply", async () => {
    await harness.deliver(labeled({ label: "agent:implement", sender: { login: "labelrun[bot]", type: "Bot" } }));
    await harness.deliver(labeled({ label: "agent:implement", state: "closed" }));
    // Never read this repository's config: an unknown label makes labelrun read it once, after the response.
    const scope = mockConfig(mockToken(api()), null);
    await harness.deliver(labeled({ label: "bug" }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    await harness.deliver(labeled({ label: "documentation" }));
    await harness.settle();
    expect(await database.db.select().from(jobs)).toEqual([]);
  });

  it("a payload missing what the handler needs is logged and ignored, leaving nothing half-written", async () => {
    const event = labeled({ label: "agent:implement" });
    delete (event.payload as Record<string, unknown>).repository;
    await harness.deliver(event);
    await harness.settle();
    expect(await database.db.select().from(jobs)).toEqual([]);
    expect(await database.db.select().from(statusComments)).toEqual([]);
  });

  it("a failed comment edit leaves the job's lifecycle alone and stays marked for the sweep", async () => {
    const job = await triggerFirstJob();
    const scope = api().patch(COMMENT_555).reply(502, { message: "Bad Gateway" });
    await transitionJob(database.db, { jobId: job.id, from: "queued", to: "running", at: T0, actor: "test" });
    const outcome = await harness.deps.syncComment({
      installationId: 2,
      repositoryId: REPO.id,
      repositoryFullName: REPO.fullName,
      targetNumber: 1,
    });
    expect(scope.isDone()).toBe(true);
    expect(outcome).toBe("failed");
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "running" });
    const row = await getStatusComment(database.db, REPO.id, 1);
    expect(row?.dirtySince).not.toBeNull();
    expect(row?.lastError).toMatch(/502/);
    expect(row?.lockedBy).toBeNull();
  });

  it("installing the app creates the missing trigger labels (an existing one is fine) and reads the config", async () => {
    const scope = mockToken(api())
      .post("/repos/Codertocat/Hello-World/labels", (b) => b.name === "agent:implement" && b.color === "5319e7")
      .reply(201, {})
      .post("/repos/Codertocat/Hello-World/labels", (b) => b.name === "agent:review")
      .reply(422, { message: "Validation Failed", errors: [{ code: "already_exists" }] });
    mockConfig(scope, 'triggers:\n  "ai:fix": implement\n');
    await harness.deliver(installationEvent("created"));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    // The custom trigger is known at once for the next label event.
    const next = mockIssue(api(), 1).post(COMMENTS).reply(201, { id: 555 });
    await harness.deliver(labeled({ label: "ai:fix" }));
    await harness.settle();
    expect(next.isDone()).toBe(true);
    expect((await findJobsForTarget(database.db, target))[0]).toMatchObject({ status: "queued", jobType: "implement" });
  });

  it("while an installation is suspended nothing is dispatched", async () => {
    await harness.deliver(installationEvent("suspend"));
    await harness.deliver(labeled({ label: "agent:implement" }));
    await harness.settle();
    const [job] = await findJobsForTarget(database.db, target);
    expect(job).toMatchObject({ status: "pending" });
    const stored = await database.db
      .select()
      .from(jobs)
      .where(eq(jobs.id, job?.id ?? 0));
    expect(stored[0]?.status).toBe("pending");
  });
});
