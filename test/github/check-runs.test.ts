import pino from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { createIntake } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import type { JobRow } from "../../src/db/schema.js";
import { checkRunForJob } from "../../src/github/check-runs/check-run-for-job.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import { buildJobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { findJobsForTarget, getJob } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { example, labeled, REPO } from "../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeNewJob, T0 } from "../support/factories.js";
import { makeProbot } from "../support/github-harness.js";
import { GitHubModel } from "../support/github-model.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
`);
const PULL = 3;
const HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

describe("a job's check run state", () => {
  const job = (overrides: Partial<JobRow>) =>
    ({
      ...makeNewJob({ targetKind: "pull_request" }),
      id: 7,
      duplicateOf: null,
      hold: null,
      status: "queued",
      failureCode: null,
      failureMessage: null,
      attempt: 1,
      maxAttempts: 3,
      createdAt: T0,
      updatedAt: T0,
      startedAt: null,
      finishedAt: null,
      progress: null,
      costUsd: null,
      inputTokens: null,
      outputTokens: null,
      resultUrl: null,
      resultSummary: null,
      resultPrState: null,
      question: null,
      reviewRound: null,
      review: null,
      ...overrides,
    }) as JobRow;
  it.each([
    [{ status: "pending" }, "queued", undefined],
    [{ status: "queued" }, "queued", undefined],
    [{ status: "deferred" }, "queued", undefined],
    [{ status: "pending", hold: "awaiting_approval" }, "completed", "action_required"],
    [{ status: "deferred", hold: "awaiting_input" }, "completed", "action_required"],
    [{ status: "running" }, "in_progress", undefined],
    [{ status: "completed" }, "completed", "success"],
    [{ status: "failed", failureCode: "AGENT_ERROR" }, "completed", "failure"],
    [{ status: "failed", failureCode: "TIMEOUT" }, "completed", "timed_out"],
    [{ status: "abandoned", failureCode: "ACCESS_REVOKED" }, "completed", "failure"],
    [{ status: "cancelled", failureCode: "CANCELLED" }, "completed", "cancelled"],
    [{ status: "cancelled", failureCode: "DRY_RUN" }, "completed", "neutral"],
  ] as const)("%j → %s %s", (overrides, status, conclusion) => {
    const check = checkRunForJob(job(overrides as Partial<JobRow>), { publicUrl: "https://labelrun.example.com" });
    expect(check).toMatchObject({
      name: "implement",
      status,
      externalId: "7",
      detailsUrl: "https://labelrun.example.com/jobs/7",
    });
    expect(check?.conclusion).toBe(conclusion);
    expect(check?.output.summary).toContain("| Job |");
  });
  it("a job on an issue, or a duplicate trigger, has none", () => {
    expect(checkRunForJob(job({ targetKind: "issue" }), {})).toBeNull();
    expect(checkRunForJob(job({ duplicateOf: 3, status: "cancelled" }), {})).toBeNull();
  });
});

describe.each(testDrivers)("check runs follow a job on a pull request (%s)", (driver) => {
  const database = useTestDatabase(driver);
  const github = new GitHubModel();
  const log = pino({ level: "silent" });
  let clock: ManualClock;
  let tasks: AfterResponseTasks;
  let deliver: (name: string, payload: Record<string, unknown>) => Promise<void>;
  let services: ReturnType<typeof buildJobServices>;
  let sweep: () => Promise<unknown>;
  beforeEach(async () => {
    // Each test's network is its own (the suite's afterEach clears every interceptor).
    github.reset();
    github.install();
    clock = new ManualClock(T0);
    tasks = new AfterResponseTasks(log);
    const probot = makeProbot(log);
    const port = octokitPort((id) => probot.auth(id) as never);
    const collaborators = { db: database.db, github: port, jobTypes: JOB_TYPES, clock, log, writerId: "checks" };
    const intake = buildIntakeDeps({ ...collaborators, after: tasks, commentQueue: tasks });
    const receive = createIntake(intake);
    services = buildJobServices({ ...collaborators, commentQueue: tasks });
    let n = 0;
    deliver = async (name, payload) => {
      await receive({ id: `d${++n}`, name, payload });
      await tasks.idle();
    };
    sweep = async () => {
      clock.advance(15_000);
      const { deps } = makeSweepDeps(database.db, {
        clock,
        dispatch: services.dispatch,
        syncComment: services.syncComment,
        onJobChanged: services.onJobChanged,
        runCommand: intake.runCommand,
      });
      await runSweeps(deps, ["status_comments", "reactions"]);
      await tasks.idle();
    };
  });
  const runs = () => [...github.checkRuns.values()];
  const pullJobs = async () =>
    (await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: PULL })).reverse();

  it("queued → in_progress → completed success, on the commit the trigger named; a crash before the sync is caught up by the sweep", async () => {
    await deliver("pull_request", labeled({ kind: "pull_request", number: PULL, label: "agent:implement" }).payload);
    const [job] = await pullJobs();
    expect(job?.status).toBe("queued");
    expect(runs()).toMatchObject([
      { name: "implement", headSha: HEAD, status: "queued", conclusion: null, externalId: String(job?.id) },
    ]);

    const claimed = await claimNextJob(database.db, {
      workerId: "w",
      at: clock.now(),
      leaseSeconds: 60,
      installationLimit: 5,
    });
    expect(claimed?.id).toBe(job?.id);
    await services.onJobChanged(claimed as JobRow);
    await tasks.idle();
    expect(runs()).toMatchObject([{ status: "in_progress" }]);

    // The worker finishes and its process dies before anything reacts: the records say completed.
    await transitionJob(database.db, {
      jobId: job?.id ?? 0,
      from: "running",
      to: "completed",
      at: clock.now(),
      actor: "worker",
    });
    expect(runs()).toMatchObject([{ status: "in_progress" }]);
    await sweep();
    expect(runs()).toMatchObject([{ status: "completed", conclusion: "success" }]);
    expect(runs()).toHaveLength(1);
  });

  it("a cancelled job's check run is cancelled; Re-run retries it as a new job with a check run of its own", async () => {
    await deliver("pull_request", labeled({ kind: "pull_request", number: PULL, label: "agent:implement" }).payload);
    const [job] = await pullJobs();
    await transitionJob(database.db, {
      jobId: job?.id ?? 0,
      from: "queued",
      to: "cancelled",
      at: clock.now(),
      actor: "test",
      code: "CANCELLED",
    });
    await sweep();
    expect(runs()).toMatchObject([{ status: "completed", conclusion: "cancelled" }]);
    const first = await getJob(database.db, job?.id ?? 0);
    const rerun = example("check_run", "rerequested");
    rerun.check_run.id = first?.checkRunId;
    rerun.repository.id = REPO.id;
    rerun.repository.full_name = REPO.fullName;
    rerun.installation = { id: 2 };
    rerun.sender = { login: "octocat", type: "User" };
    await deliver("check_run", rerun);
    await sweep();
    const [, retry] = await pullJobs();
    expect(retry).toMatchObject({ retryOf: job?.id, status: "queued", triggeredBy: "github:octocat" });
    expect(runs().map((run) => [run.externalId, run.status, run.conclusion])).toEqual([
      [String(job?.id), "completed", "cancelled"],
      [String(retry?.id), "queued", null],
    ]);
  });
});
