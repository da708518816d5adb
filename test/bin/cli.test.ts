import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { buildJobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { createJob } from "../../src/jobs/create-job.js";
import { findJobsForTarget, getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { labeled, REPO } from "../fixtures/webhooks.js";
import { openTestDatabase, postgresAvailable, type TestDatabase } from "../support/databases.js";
import { makeJob, makeNewJob, seedInstallation } from "../support/factories.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeProbot, TEST_JOB_TYPES, TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { GitHubModel } from "../support/github-model.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["src/bin/labelrun.mjs", ...args],
      { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.runIf(postgresAvailable)("the admin CLI (real binary, real database)", () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase("postgres", { max: 3 });
    env = { DATABASE_URL: database.url as string };
  });
  afterAll(async () => {
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
    await seedInstallation(database.db, 1);
  });

  it("lists jobs as a table and as JSON, with filters and a cursor", async () => {
    await makeJob(database.db, { jobType: "implement" });
    await makeJob(database.db, { jobType: "review", status: "queued" });
    const text = await cli(["jobs"], env);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")[0]).toMatch(/^ID\s+STATE\s+TYPE\s+TARGET/);
    expect(text.stdout).toContain("octo-org/widgets#");
    const json = await cli(["jobs", "--status", "queued", "--json"], env);
    expect(JSON.parse(json.stdout).jobs.map((j: { jobType: string }) => j.jobType)).toEqual(["review"]);
    const page = await cli(["jobs", "--limit", "1", "--json"], env);
    expect(JSON.parse(page.stdout)).toMatchObject({ nextCursor: 2 });
    const bad = await cli(["jobs", "--status", "sleeping"], env);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown status sleeping/) });
  });

  it("usage shows this month's jobs and cost per installation and repository, against the quotas of the job-types file", async () => {
    const job = await makeJob(database.db, { status: "completed" });
    await database.db.execute(
      sql`update jobs set queued_at = now(), finished_at = now(), cost_usd = 2.5 where id = ${job.id}`,
    );
    const dir = mkdtempSync(join(tmpdir(), "labelrun-usage-"));
    const config = join(dir, "labelrun.config.yml");
    writeFileSync(
      config,
      "job_types:\n  implement:\n    command: [node, a.mjs]\nquotas:\n  default: { jobs_per_month: 40, cost_usd_per_month: 100 }\n",
    );
    const text = await cli(["usage"], { ...env, LABELRUN_CONFIG: config });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^\d{4}-\d{2} \(resets \d{4}-\d{2}-01\)/);
    expect(text.stdout).toMatch(/1 \(org-1\)\s+\(all\)\s+1\s+\$2\.50\s+40\s+\$100/);
    expect(text.stdout).toMatch(/octo-org\/widgets\s+1\s+\$2\.50/);
    const json = JSON.parse((await cli(["usage", "--json"], env)).stdout);
    expect(json.installations).toEqual([{ installationId: 1, accountLogin: "org-1", jobs: 1, costUsd: 2.5 }]);
  });

  it.each([
    [["job", "-1"], /^labelrun: Unknown option '-1'/],
    [["job", "12345678901234567890"], /^labelrun: job needs a job id \(a positive number\)$/m],
    [["job", "0"], /^labelrun: job needs a job id/],
    [["jobs", "--limit"], /^labelrun: Option '--limit <value>' argument missing/],
  ])("%j is one clear line on stderr: no stack trace, no SQL", async (args, message) => {
    const result = await cli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at |select|from "jobs"/i);
  });

  it("shows one job with its timeline, cancels it, and retries it", async () => {
    const job = await makeJob(database.db, { status: "queued" });
    const detail = await cli(["job", String(job.id)], env);
    expect(detail.stdout).toMatch(/state\s+queued/);
    expect(detail.stdout).toMatch(/AT\s+FROM\s+TO/);
    const cancelled = await cli(["cancel", String(job.id)], env);
    expect(cancelled).toMatchObject({ code: 0, stdout: `job ${job.id} cancelled\n` });
    expect((await listJobEvents(database.db, job.id)).at(-1)?.actor).toMatch(/^cli:/);
    expect(await cli(["cancel", String(job.id)], env)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/already cancelled/),
    });
    const retried = await cli(["retry", String(job.id), "--json"], env);
    const created = JSON.parse(retried.stdout).job;
    expect(await getJob(database.db, created.id)).toMatchObject({ status: "pending", retryOf: job.id });
    expect(await cli(["job", "999"], env)).toMatchObject({ code: 1, stderr: "labelrun: no job 999\n" });
  });

  it("cancel marks the job's status comment behind: the next sweep writes 'cancelled' on the issue", async () => {
    const github = new GitHubModel();
    github.install();
    const log = pino({ level: "silent" });
    const probot = makeProbot(log);
    const clock = new ManualClock(new Date());
    const services = buildJobServices({
      db: database.db,
      github: octokitPort((id) => probot.auth(id) as never),
      jobTypes: TEST_JOB_TYPES,
      clock,
      log,
      writerId: "cli-test",
    });
    const { job } = await createJob(database.db, {
      job: makeNewJob({ installationId: 1, targetNumber: 3, repositoryId: REPO.id, repositoryFullName: REPO.fullName }),
      at: clock.now(),
      actor: "test",
    });
    expect(await services.syncComment(job)).toBe("written");
    expect(github.statusComments(3)[0]?.body).toContain("— pending");

    const cancelled = await cli(["cancel", String(job.id)], env);
    expect(cancelled).toMatchObject({ code: 0, stdout: `job ${job.id} cancelled\n` });
    // The CLI has no GitHub client: the maintenance loop's next tick writes the comment.
    clock.set(new Date(Date.now() + 11_000)); // the CLI marked it on the real clock, moments ago
    const { deps } = makeSweepDeps(database.db, {
      clock,
      syncComment: services.syncComment,
      onJobChanged: services.onJobChanged,
    });
    const [report] = await runSweeps(deps, ["status_comments"]);
    expect(report).toMatchObject({ name: "status_comments", moved: 1 });
    const comments = github.statusComments(3);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("### 🚫 `implement` — cancelled");
    expect(comments[0]?.body).toMatch(/cancelled by cli:/);
  });

  it("receive replays a saved delivery through the real pipeline: the job is recorded, dispatched and commented on", async () => {
    const github = await startFakeGitHub();
    try {
      const dir = mkdtempSync(join(tmpdir(), "labelrun-receive-"));
      const file = join(dir, "delivery.json");
      writeFileSync(file, JSON.stringify(labeled({ label: "agent:implement", number: 4 }).payload));
      const appEnv = {
        ...env,
        APP_ID: "1",
        PRIVATE_KEY: TEST_PRIVATE_KEY,
        WEBHOOK_SECRET: "s",
        GITHUB_API_URL: github.url,
        REDELIVER_FAILED_DELIVERIES: "false",
      };
      const result = await cli(["receive", "--event", "issues", "--payload", file, "--id", "saved-1"], appEnv);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^delivered issues \(saved-1\)/);
      const [job] = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 4 });
      expect(job).toMatchObject({ status: "queued", deliveryId: "saved-1", jobType: "implement" });
      expect(result.stdout).toMatch(new RegExp(`${job?.id}\\s+queued`));
      expect(github.requests.some((r) => r.method === "POST" && r.path.endsWith("/issues/4/comments"))).toBe(true);
      // The same delivery again records nothing new.
      expect((await cli(["receive", "--event", "issues", "--payload", file, "--id", "saved-1"], appEnv)).code).toBe(0);
      expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 4 })).toHaveLength(1);
      // Mistakes are one line each.
      writeFileSync(join(dir, "list.json"), "[1]");
      for (const [args, message] of [
        [["receive", "--payload", file], /^labelrun: receive needs --event/],
        [["receive", "--event", "issues"], /^labelrun: receive needs --payload/],
        [
          ["receive", "--event", "issues", "--payload", join(dir, "missing.json")],
          /^labelrun: cannot read .*missing\.json: ENOENT/,
        ],
        [["receive", "--event", "issues", "--payload", join(dir, "list.json")], /is not a JSON object\n$/],
      ] as const) {
        const bad = await cli([...args], appEnv);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(message);
        expect(bad.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      }
    } finally {
      await github.close();
    }
  });

  it("doctor checks what an operator gets wrong, for real, and says how to fix each in one line", async () => {
    const github = await startFakeGitHub();
    const dir = mkdtempSync(join(tmpdir(), "labelrun-doctor-"));
    try {
      const good = await cli(["doctor"], {
        ...env,
        APP_ID: "1",
        PRIVATE_KEY: TEST_PRIVATE_KEY,
        WEBHOOK_SECRET: "a-webhook-secret-long-enough-0123",
        GITHUB_API_URL: github.url,
      });
      expect(good.stdout).toMatch(/^ok {2}database: \d+ migrations applied$/m);
      expect(good.stdout).toMatch(/^ok {2}github app: authenticated as labelrun-test/m);
      expect(good.stdout).toMatch(/^ok {2}git: git version/m);
      expect(good.stdout).toMatch(/^ok {2}command of implement: /m);
      expect(github.requests.some((r) => r.method === "GET" && r.path === "/app")).toBe(true);

      const config = join(dir, "labelrun.config.yml");
      writeFileSync(config, 'job_types:\n  implement:\n    command: ["./no-such-agent.sh"]\n    sandbox: none\n');
      const bad = await cli(["doctor"], {
        ...env,
        APP_ID: "1",
        PRIVATE_KEY: TEST_PRIVATE_KEY,
        WEBHOOK_SECRET: "short",
        GITHUB_API_URL: "http://127.0.0.1:9",
        LABELRUN_CONFIG: config,
      });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^FIX github app: cannot reach GitHub at http:\/\/127\.0\.0\.1:9/m);
      expect(bad.stdout).toMatch(/^FIX webhook secret: only 5 characters: use a random one/m);
      expect(bad.stdout).toMatch(/^FIX command of implement: `.*no-such-agent\.sh` is not an executable file/m);
      expect(bad.stdout).not.toMatch(/\n\s+at /);

      const broken = join(dir, "broken.yml");
      writeFileSync(broken, "job_types:\n  Bad Name:\n    command: []\n");
      const invalid = await cli(["doctor"], { ...env, LABELRUN_CONFIG: broken });
      expect(invalid.code).toBe(1);
      expect(invalid.stdout).toMatch(/^FIX github app: missing APP_ID/m);
      expect(invalid.stdout).toMatch(/^FIX job types: /m);
    } finally {
      await github.close();
    }
  }, 60_000);

  it("migrate is a no-op on a migrated database; unknown commands print the usage", async () => {
    expect(await cli(["migrate"], env)).toMatchObject({ code: 0, stdout: "migrations applied\n" });
    expect(await cli(["frobnicate"], env)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown command frobnicate/),
    });
  });

  it("sweep runs the maintenance sweeps once and reports each", async () => {
    const job = await makeJob(database.db, { status: "deferred" });
    await database.db.execute(
      sql`update jobs set run_after = now() - interval '1 minute', queued_at = now() - interval '2 minutes', attempt = 1 where id = ${job.id}`,
    );
    const github = await startFakeGitHub();
    const result = await cli(["sweep", "--json"], {
      ...env,
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: "s",
      REDELIVER_FAILED_DELIVERIES: "false",
      GITHUB_API_URL: github.url,
    }).finally(() => github.close());
    expect(result.code).toBe(0);
    // The requeued job's status comment was written through GitHub.
    expect(github.requests.some((r) => r.method === "POST" && r.path.endsWith("/comments"))).toBe(true);
    const sweeps = JSON.parse(result.stdout).sweeps as Array<{ name: string; moved: number }>;
    expect(sweeps.find((s) => s.name === "deferred")?.moved).toBe(1);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "queued" });
  });
});
