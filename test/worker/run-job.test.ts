import { readFileSync } from "node:fs";
import { asc, eq } from "drizzle-orm";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../src/clock.js";
import { jobLogs } from "../../src/db/schema.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import { liftHold, requestPause } from "../../src/jobs/holds.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { sweepDeferred } from "../../src/maintenance/sweeps/sweep-waiting-jobs.js";
import { RUNNING_EDIT_DELAY_MS } from "../../src/worker/run-job.js";
import { runProcess } from "../../src/worker/run-process.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { api } from "../support/github-harness.js";
import { pidsWith, uniqueMarker, waitUntil } from "../support/processes.js";
import { makeSweepDeps } from "../support/sweep-harness.js";
import {
  AGENT,
  agentJobTypes,
  makeRunJobDeps,
  neverAborted,
  queueAndClaim,
  runJob,
} from "../support/worker-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`running a claimed job (${driver})`, () => {
  const database = useTestDatabase(driver);
  const github = {
    url: "https://api.github.com",
    requests: [] as Array<{ path: string; body: Record<string, unknown> | null }>,
  };
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeEach(() => {
    github.requests.length = 0;
    mockWorkerGitHub(github.requests);
  });
  afterEach(() => {
    expect(github.requests.length).toBeGreaterThan(0);
    nock.cleanAll();
  });

  const run = async (
    args: string[],
    options: {
      fields?: Record<string, unknown>;
      serverEnv?: NodeJS.ProcessEnv;
      logCapBytes?: number;
      cloneBaseUrl?: string;
      kind?: "issue" | "pull_request";
      job?: Parameters<typeof queueAndClaim>[2];
    } = {},
  ) => {
    const { deps, changed } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: options.cloneBaseUrl ?? repos.baseUrl,
      jobTypes: agentJobTypes(args, options.fields),
      serverEnv: options.serverEnv,
      logCapBytes: options.logCapBytes,
    });
    const claimed = await queueAndClaim(database.db, deps, { targetKind: options.kind ?? "issue", ...options.job });
    const final = await runJob(deps, claimed, neverAborted());
    const logs = await database.db
      .select()
      .from(jobLogs)
      .where(eq(jobLogs.jobId, claimed.id))
      .orderBy(asc(jobLogs.seq));
    return { final, logs, changed, claimed };
  };

  it("completes with the agent's result, cost and tokens, after a clone with a token for this repository only", async () => {
    const { final, logs, changed } = await run(["complete"]);
    expect(final).toMatchObject({
      status: "completed",
      progress: 100,
      resultUrl: "https://github.com/Codertocat/Hello-World/pull/2",
      resultSummary: "Spelling error in the README file / cloned",
      costUsd: 0.42,
      inputTokens: 1200,
      outputTokens: 340,
    });
    const scoped = github.requests.find(
      (r) => r.path === "/app/installations/2/access_tokens" && r.body?.repository_ids,
    );
    expect(scoped?.body).toEqual({
      repository_ids: [186853002],
      permissions: { contents: "write", pull_requests: "write", issues: "read", metadata: "read" },
    });
    expect(logs.map((l) => [l.stream, l.line])).toContainEqual(["stderr", "a line on stderr"]);
    expect(logs.map((l) => l.line)).toContain("::progress::abc not a number");
    expect(changed.at(-1)).toMatchObject({ status: "completed" });
  });

  it("a job that starts moments after its trigger works from the webhook's picture of the issue; one that waited reads it from GitHub", async () => {
    const snapshot = {
      title: "As the webhook showed it",
      body: "",
      url: "https://github.com/Codertocat/Hello-World/issues/1",
      state: "open" as const,
      labels: ["agent:implement"],
      author: "octocat",
    };
    const fresh = await run(["complete"], { job: { targetOpenAt: new Date(), targetSnapshot: snapshot } });
    expect(fresh.final).toMatchObject({ status: "completed", resultSummary: "As the webhook showed it / cloned" });
    // Ended: the issue's text is not kept with the job.
    expect(fresh.final?.targetSnapshot).toBeNull();

    const waited = await run(["complete"], {
      job: { targetNumber: 1, targetOpenAt: new Date(Date.now() - 10 * 60_000), targetSnapshot: snapshot },
    });
    expect(waited.final).toMatchObject({ resultSummary: "Spelling error in the README file / cloned" });
  });

  it("a run that ends before its running edit is due changes its comment once; a longer one says running first", async () => {
    // The running edit's timer runs on a clock the test moves; everything else on real time.
    const edits = new ManualClock(new Date());
    const { deps, changed } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["slow", "300"]),
    });
    deps.clock = {
      ...systemClock,
      setTimeout: (fn, ms, options) =>
        ms === RUNNING_EDIT_DELAY_MS ? edits.setTimeout(fn, ms) : systemClock.setTimeout(fn, ms, options),
    };
    const quick = await queueAndClaim(database.db, deps);
    expect(await runJob(deps, quick, neverAborted())).toMatchObject({ status: "completed" });
    expect(changed.map((job) => job.status)).toEqual(["completed"]);

    changed.length = 0;
    const longer = await queueAndClaim(database.db, deps);
    const running = runJob(deps, longer, neverAborted());
    edits.advance(RUNNING_EDIT_DELAY_MS);
    expect(await running).toMatchObject({ status: "completed" });
    expect(changed.map((job) => job.status)).toEqual(["running", "completed"]);
  });

  it("an agent that reports ::cost:: past the job type's max_cost_usd is stopped at once and fails BUDGET_EXCEEDED, its cost recorded", async () => {
    const started = Date.now();
    const { final, logs } = await run(["spend"], { fields: { max_cost_usd: 1 } });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(final).toMatchObject({ status: "failed", failureCode: "BUDGET_EXCEEDED", costUsd: 1.3 });
    expect(final?.failureMessage).toContain("past the job type's cap of $1.00");
    expect(logs.map((l) => l.line)).toContain("[labelrun: stopped: $1.3 spent, past max_cost_usd $1]");
  });

  it("under the cap the run goes on, and the last ::cost:: is the job's cost when the result names none; garbage cost lines are ignored", async () => {
    const { final } = await run(["spend", "0.10,not-a-number,1e9,0.40", "finish"], { fields: { max_cost_usd: 1 } });
    expect(final).toMatchObject({ status: "completed", costUsd: 0.4, resultSummary: "spent and done" });
  });

  it("a review round's agent gets the review, its comments on the diff, the conversation and the unresolved threads in LABELRUN_CONTEXT", async () => {
    const trigger = {
      reviewId: 77,
      commentId: null,
      inThread: false,
      author: "mona",
      state: "changes_requested",
      body: "Please fix the spelling.",
    };
    // GitHub's side of the round's feedback: the review's comments, the conversation, the threads (GraphQL).
    const feedback = api()
      .get("/repos/Codertocat/Hello-World/pulls/1/reviews/77/comments")
      .query(true)
      .reply(200, [
        {
          id: 601,
          user: { login: "mona" },
          path: "README.md",
          line: 3,
          side: "RIGHT",
          diff_hunk: "@@ -1,3 +1,3 @@\n-Helo.",
          body: "Spell it Hello.",
        },
      ])
      .get("/repos/Codertocat/Hello-World/issues/1/comments")
      .query(true)
      .reply(200, [
        { id: 602, user: { login: "mona" }, body: "And the title too.", created_at: "2026-03-01T12:00:00Z" },
      ])
      .post("/graphql")
      .reply(200, {
        data: {
          repository: {
            pullRequest: {
              reviewThreads: {
                nodes: [
                  {
                    isResolved: false,
                    isOutdated: false,
                    path: "README.md",
                    line: 3,
                    comments: { nodes: [{ databaseId: 601, author: { login: "mona" }, body: "Spell it Hello." }] },
                  },
                ],
              },
            },
          },
        },
      });
    const { final } = await run(["review-context"], {
      kind: "pull_request",
      job: { review: trigger, reviewRound: 1, parentJobId: null },
    });
    expect(final?.status, final?.failureMessage ?? "").toBe("completed");
    const review = JSON.parse(final?.resultSummary ?? "{}");
    expect(review).toMatchObject({
      round: 1,
      trigger: { review_id: 77, author: "mona", state: "changes_requested", body: "Please fix the spelling." },
      comments: [
        {
          id: 601,
          path: "README.md",
          line: 3,
          side: "RIGHT",
          diff_hunk: "@@ -1,3 +1,3 @@\n-Helo.",
          body: "Spell it Hello.",
        },
      ],
      conversation: [{ id: 602, author: "mona", body: "And the title too." }],
      unresolved_threads: [{ path: "README.md", line: 3, comments: [{ id: 601, body: "Spell it Hello." }] }],
      earlier_rounds: [],
      cut: [],
    });
    expect(feedback.isDone()).toBe(true);
  });

  it("checks out the pull request's head for a PR job", async () => {
    const { final } = await run(["pr-head"], { kind: "pull_request" });
    expect(final).toMatchObject({ status: "completed", resultSummary: "the pull request's change" });
  });

  it("gives the agent only the allow-listed environment, and masks the token in its log", async () => {
    const serverEnv = {
      PATH: process.env.PATH,
      HOME: "/home/labelrun",
      LANG: "C.UTF-8",
      PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----secret",
      WEBHOOK_SECRET: "webhook-secret-value",
      DATABASE_URL: "postgres://user:pw@db/labelrun",
      ADMIN_TOKEN: "admin-token-value-123",
      ANTHROPIC_API_KEY: "sk-ant-declared-key",
      OTHER_KEY: "not-declared",
    };
    const { final, logs } = await run(["dump-env"], { serverEnv });
    const env = JSON.parse(final?.resultSummary ?? "{}") as Record<string, string>;
    expect(Object.keys(env).sort()).toEqual(
      [
        "GITHUB_TOKEN",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_KEY_0",
        "GIT_CONFIG_VALUE_0",
        "HOME",
        "LANG",
        "LABELRUN_API_URL",
        "LABELRUN_ATTEMPT",
        "LABELRUN_CONTEXT",
        "LABELRUN_JOB_ID",
        "LABELRUN_JOB_TYPE",
        "LABELRUN_KIND",
        "LABELRUN_NUMBER",
        "LABELRUN_REPOSITORY",
        "LABELRUN_RESULT",
        "LABELRUN_TOKEN_FILE",
        "LABELRUN_WORKSPACE",
        "PATH",
        "PWD", // set by bubblewrap
        "TMPDIR",
      ].sort(),
    );
    // The run's own home and the git credential helper, not the server's.
    expect(env).toMatchObject({ HOME: "/workspace/home", TMPDIR: "/tmp", GIT_CONFIG_KEY_0: "credential.helper" });
    expect(env.GITHUB_TOKEN).toBe("***"); // masked in what the agent wrote back, too
    expect(logs.map((l) => l.line)).toContain("token is ***");
  });

  it("passes the variables a job type declares, and masks their values", async () => {
    const { final } = await run(["dump-env"], {
      fields: { env: ["ANTHROPIC_API_KEY"] },
      serverEnv: { PATH: process.env.PATH, ANTHROPIC_API_KEY: "sk-ant-declared-key" },
    });
    const env = JSON.parse(final?.resultSummary ?? "{}") as Record<string, string>;
    expect(env.ANTHROPIC_API_KEY).toBe("***");
    expect(env.HOME).toBe("/workspace/home");
  });

  it.each([
    [["exit", "0"], "failed", "NO_OUTPUT", /exited 0 without writing a result/],
    [
      ["exit", "3"],
      "failed",
      "AGENT_ERROR",
      /exited with status 3 without a result; the sandbox's limits: .*; last lines:\nabout to exit/s,
    ],
    [["garbage"], "failed", "NO_OUTPUT", /not valid JSON \(at byte 2\)$/],
    [["wrong-shape"], "failed", "NO_OUTPUT", /does not follow the protocol/],
    [["fail", "BUDGET_EXCEEDED"], "failed", "BUDGET_EXCEEDED", /spent the budget/],
    [["fail", "MADE_UP"], "failed", "AGENT_ERROR", /the agent said `MADE_UP`/],
  ])("agent %j ends %s with %s", async (args, status, code, message) => {
    const { final } = await run(args);
    expect(final).toMatchObject({ status, failureCode: code });
    expect(final?.failureMessage).toMatch(message);
  });

  it("a command that cannot start fails with AGENT_ERROR and says why", async () => {
    const { final } = await run([], { fields: { command: ["/no/such/agent"] } });
    expect(final).toMatchObject({ status: "failed", failureCode: "AGENT_ERROR" });
    expect(final?.failureMessage).toMatch(/could not start in the sandbox .*\/no\/such\/agent/s);
  });

  it("a clone failure fails with GIT_CLONE_FAILED and git's message, the token masked", async () => {
    const { final } = await run(["complete"], { cloneBaseUrl: "file:///no/such/place" });
    expect(final).toMatchObject({ status: "failed", failureCode: "GIT_CLONE_FAILED" });
    expect(final?.failureMessage).toMatch(
      /git could not clone Codertocat\/Hello-World: .*does not appear to be a git repository|not found/i,
    );
    expect(final?.failureMessage).not.toMatch(/ghs_test/);
  });

  it("exit 75 defers the job with a backoff; on the last attempt it is abandoned", async () => {
    const { final, claimed } = await run(["exit", "75"]);
    expect(final).toMatchObject({ status: "deferred", failureCode: "AGENT_ERROR" });
    const wait = (final?.runAfter?.getTime() ?? 0) - (final?.updatedAt.getTime() ?? 0);
    expect(wait).toBeGreaterThanOrEqual(24_000);
    expect(wait).toBeLessThanOrEqual(36_000);
    expect(claimed.attempt).toBe(1);
  });

  it("an agent that asks to run later is deferred by what it asked, and abandoned when its attempts are spent", async () => {
    const { final } = await run(["defer"]);
    expect(final).toMatchObject({ status: "deferred" });
    expect((final?.runAfter?.getTime() ?? 0) - (final?.updatedAt.getTime() ?? 0)).toBe(120_000);
    // The second (last) attempt asks again: gave up.
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["defer"]),
    });
    await transitionJob(database.db, {
      jobId: final?.id ?? 0,
      from: "deferred",
      to: "queued",
      at: new Date(),
      actor: "test",
    });
    const again = await claimNextJob(database.db, {
      workerId: "test-worker",
      at: new Date(Date.now() + 200_000),
      leaseSeconds: 60,
      installationLimit: 5,
    });
    expect(again?.attempt).toBe(2);
    const last = await runJob(deps, again as NonNullable<typeof again>, neverAborted());
    expect(last).toMatchObject({ status: "abandoned", failureCode: "MAX_ATTEMPTS" });
    expect(last?.failureMessage).toMatch(/^gave up after 2 attempts/);
  });

  it("at the time limit the whole process group is stopped (a child the agent forked too) and the job fails TIMEOUT", async () => {
    const marker = uniqueMarker();
    const { final, logs } = await run(["hang", marker], { fields: { timeout_minutes: 0.03 } });
    expect(final).toMatchObject({ status: "failed", failureCode: "TIMEOUT" });
    expect(final?.failureMessage).toMatch(/time limit of 0.03 minutes/);
    expect(pidsWith(marker)).toEqual([]);
    expect(logs.at(-1)?.line).toMatch(/stopped after 0.03 minutes/);
  });

  it("cancelling a running job stops its agent, and the worker leaves the cancellation as it is", async () => {
    const marker = uniqueMarker();
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["hang", marker]),
    });
    const claimed = await queueAndClaim(database.db, deps);
    const cancelled = new AbortController();
    const running = runJob(deps, claimed, { shutdown: new AbortController().signal, cancelled: cancelled.signal });
    await waitUntil(() => pidsWith(marker).length >= 2, "the agent and its child");
    await transitionJob(database.db, {
      jobId: claimed.id,
      from: "running",
      to: "cancelled",
      at: new Date(),
      actor: "test",
      code: "CANCELLED",
    });
    cancelled.abort();
    const final = await running;
    expect(final).toMatchObject({ status: "cancelled", failureCode: "CANCELLED" });
    expect(pidsWith(marker)).toEqual([]);
  });

  it("a stopped agent gets SIGTERM first, inside its sandbox, and may clean up within the grace period", async () => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["graceful"]),
      killGraceMs: 5_000,
    });
    const claimed = await queueAndClaim(database.db, deps);
    const cancelled = new AbortController();
    const running = runJob(deps, claimed, { shutdown: new AbortController().signal, cancelled: cancelled.signal });
    await waitUntil(() => pidsWith(AGENT).some((pid) => isAgentReady(pid)), "the agent to start");
    await new Promise((r) => setTimeout(r, 300));
    await transitionJob(database.db, {
      jobId: claimed.id,
      from: "running",
      to: "cancelled",
      at: new Date(),
      actor: "test",
      code: "CANCELLED",
    });
    const started = Date.now();
    cancelled.abort();
    await running;
    expect(Date.now() - started).toBeLessThan(4_000); // it exited by itself, before the SIGKILL
    const logs = await database.db.select().from(jobLogs).where(eq(jobLogs.jobId, claimed.id));
    expect(logs.map((l) => l.line)).toEqual(expect.arrayContaining(["got SIGTERM, cleaning up", "cleaned up"]));
  });

  it("without a notification, the heartbeat finds out the job was taken and stops the agent", async () => {
    const marker = uniqueMarker();
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["hang", marker]),
    });
    const claimed = await queueAndClaim(database.db, deps);
    const running = runJob(deps, claimed, neverAborted());
    await waitUntil(() => pidsWith(marker).length >= 2, "the agent and its child");
    await transitionJob(database.db, {
      jobId: claimed.id,
      from: "running",
      to: "failed",
      at: new Date(),
      actor: "maintenance",
      code: "TIMEOUT",
    });
    const final = await running;
    expect(final).toMatchObject({ status: "failed", failureCode: "TIMEOUT" });
    expect((await listJobEvents(database.db, claimed.id)).filter((e) => e.fromStatus === "running")).toHaveLength(1);
    expect(pidsWith(marker)).toEqual([]);
  });

  it.each([
    [1, "completed"],
    [3, "deferred"],
  ])("a sandbox bubblewrap fails to set up %i time(s) is tried again (then the job is handed back), its complaint kept out of the job's log", async (failures, status) => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["complete"]),
    });
    let calls = 0;
    const flaky: typeof deps.runProcess = async (options) => {
      if (++calls > failures) return runProcess(options);
      // What bubblewrap says when the kernel answers its netlink request oddly (seen under load).
      options.onLine("stderr", "bwrap: loopback: Failed RTM_NEWADDR: No child processes");
      return { exitCode: 1, signal: null, stoppedBy: null, spawnError: null };
    };
    const claimed = await queueAndClaim(database.db, deps);
    const final = await runJob({ ...deps, runProcess: flaky }, claimed, neverAborted());
    expect(final).toMatchObject({ status });
    expect(calls).toBe(Math.min(failures + 1, 3));
    const logs = await database.db.select().from(jobLogs).where(eq(jobLogs.jobId, claimed.id));
    if (status === "completed") expect(logs.map((l) => l.line).join("\n")).not.toContain("bwrap:");
    else
      expect(final?.failureMessage).toMatch(
        /the sandbox could not be set up \(bwrap: loopback.*\) on this worker; the job will run again/,
      );
  });

  it("a chatty agent's log is capped: head and tail kept, the middle counted", async () => {
    const { final, logs } = await run(["chatty"], { logCapBytes: 64 * 1024 });
    expect(final).toMatchObject({ status: "completed" });
    const bytes = logs.reduce((sum, l) => sum + Buffer.byteLength(l.line) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(64 * 1024 + 200);
    expect(logs[0]?.line).toMatch(/^line 0 /);
    expect(logs.at(-1)?.line).toMatch(/^line 19999 /);
    expect(logs.find((l) => l.stream === "system")?.line).toMatch(/lines \(\d+ bytes\) left out/);
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i));
  });

  it("a shutdown hands the job back as deferred WORKER_LOST, to run again soon", async () => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["slow", "60000"]),
    });
    const claimed = await queueAndClaim(database.db, deps);
    const shutdown = new AbortController();
    const running = runJob(deps, claimed, { shutdown: shutdown.signal, cancelled: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 500));
    shutdown.abort();
    const final = await running;
    expect(final).toMatchObject({ status: "deferred", failureCode: "WORKER_LOST" });
    expect((final?.runAfter?.getTime() ?? 0) - (final?.updatedAt.getTime() ?? 0)).toBe(5_000);
  });

  it("a shutdown on the last attempt hands the job back: the deferred sweep queues it and it runs again, not abandoned", async () => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: github.url,
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["slow", "60000"]),
    });
    const claimed = await queueAndClaim(database.db, deps, { maxAttempts: 1 });
    expect(claimed).toMatchObject({ attempt: 1, maxAttempts: 1 });
    const shutdown = new AbortController();
    const running = runJob(deps, claimed, { shutdown: shutdown.signal, cancelled: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 500));
    shutdown.abort();
    expect(await running).toMatchObject({ status: "deferred", failureCode: "WORKER_LOST", attempt: 0 });
    const { deps: sweep, clock } = makeSweepDeps(database.db);
    clock.set(new Date(Date.now() + 6_000));
    expect(await sweepDeferred(sweep)).toBe(1);
    expect(await getJob(database.db, claimed.id)).toMatchObject({ status: "queued" });
    const again = await claimNextJob(database.db, {
      workerId: "another-worker",
      at: clock.now(),
      leaseSeconds: 60,
      installationLimit: 10,
    });
    expect(again).toMatchObject({ id: claimed.id, status: "running", attempt: 1 });
  });
});

describe(`people in the loop, on the worker (${driver})`, () => {
  const database = useTestDatabase(driver);
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeEach(() => {
    mockWorkerGitHub([]);
  });
  afterEach(() => {
    nock.cleanAll();
  });

  it("an agent that asks a question holds the job awaiting_input without spending the attempt; the answer reaches the next run", async () => {
    const asking = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["ask"]),
    });
    const claimed = await queueAndClaim(database.db, asking.deps);
    const held = await runJob(asking.deps, claimed, neverAborted());
    expect(held).toMatchObject({
      status: "deferred",
      hold: "awaiting_input",
      question: "Which database should it use?",
      attempt: 0,
    });
    expect(asking.changed.at(-1)).toMatchObject({ hold: "awaiting_input" });
    const lifted = await liftHold(database.db, {
      job: held as NonNullable<typeof held>,
      expect: "awaiting_input",
      actor: "test",
      at: new Date(),
      answer: { by: "octocat", body: "PostgreSQL", at: new Date().toISOString() },
    });
    expect(lifted.ok).toBe(true);
    await transitionJob(database.db, {
      jobId: claimed.id,
      from: "deferred",
      to: "queued",
      at: new Date(),
      actor: "test",
    });
    const answering = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["echo-answers"]),
    });
    const again = await claimNextJob(database.db, {
      workerId: "test-worker",
      at: new Date(),
      leaseSeconds: 60,
      installationLimit: 5,
    });
    expect(again?.attempt).toBe(1);
    const final = await runJob(answering.deps, again as NonNullable<typeof again>, neverAborted());
    expect(final).toMatchObject({ status: "completed", resultSummary: "Which database should it use? -> PostgreSQL" });
  });

  it("a pause asked for during a run holds the job when the run does not complete, instead of retrying it", async () => {
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes: agentJobTypes(["exit", "75"]),
    });
    const claimed = await queueAndClaim(database.db, deps);
    expect(await requestPause(database.db, claimed, new Date(), "test")).toBe(true);
    const final = await runJob(deps, claimed, neverAborted());
    expect(final).toMatchObject({ status: "deferred", hold: "paused", pauseRequested: false, runAfter: null });
  });
});

/** An agent process in graceful mode (its command line names the mode). */
function isAgentReady(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("graceful");
  } catch {
    return false;
  }
}

/**
 * What a worker asks GitHub for every run: a token (bodies recorded in `seen`, a new token each
 * time so masking is tested against a real value) and the issue/PR it works on. Persisted, since
 * every run asks again; each test file's afterEach cleans it up.
 */
function mockWorkerGitHub(seen: Array<{ path: string; body: Record<string, unknown> | null }>): void {
  api()
    .persist()
    .post("/app/installations/2/access_tokens", (body) => {
      // nock may try this matcher on other requests too: record only token requests' bodies.
      if (body && typeof body === "object") seen.push({ path: "/app/installations/2/access_tokens", body });
      return true;
    })
    .reply(201, () => ({
      token: `ghs_test_${Math.random().toString(36).slice(2)}`,
      expires_at: "2099-01-01T00:00:00Z",
    }))
    .get("/repos/Codertocat/Hello-World/issues/1")
    .reply(200, {
      number: 1,
      state: "open",
      title: "Spelling error in the README file",
      body: "It says Helo.",
      html_url: "https://github.com/Codertocat/Hello-World/issues/1",
      labels: [{ name: "agent:implement" }],
      user: { login: "octocat" },
    })
    .get("/repos/Codertocat/Hello-World/pulls/1")
    .reply(200, { number: 1, head: { ref: "feature", sha: "abc123" }, base: { ref: "main", sha: "def456" } })
    .delete("/installation/token")
    .reply(204);
}
