import { eq } from "drizzle-orm";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import { jobs } from "../../src/db/schema.js";
import { recordCommand } from "../../src/github/commands/command-store.js";
import { PermissionCache, runCommand } from "../../src/github/commands/run-command.js";
import { dispatchJob } from "../../src/github/dispatch-job.js";
import type { GitHubPort } from "../../src/github/port.js";
import { renderStatusComment } from "../../src/github/status-comment/render-status-comment.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { actOnJob } from "../../src/jobs/job-actions.js";
import { monthOf, quotasFor, usageThisMonth } from "../../src/jobs/quota.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
quotas:
  default: { jobs_per_month: 2 }
  installations:
    org-9: { jobs_per_month: 100 }
  repositories:
    octo-org/widgets: { cost_usd_per_month: 5 }
`);
// GitHub as dispatch sees it: no repository config, every issue open.
const github = {
  getRepoConfig: async () => null,
  getTarget: async () => ({ state: "open", author: "octocat" }),
} as unknown as GitHubPort;

describe("quota rules", () => {
  it("a month is the calendar month in UTC", () => {
    expect(monthOf(new Date("2026-03-31T23:59:59Z"))).toEqual({
      start: new Date("2026-03-01T00:00:00Z"),
      end: new Date("2026-04-01T00:00:00Z"),
    });
  });
  it("an installation's override (by id or account login) replaces the default; a repository adds its own", () => {
    const quotas = JOB_TYPES.quotas;
    expect(quotasFor(quotas, { installationId: 1, repositoryFullName: "a/b" }, "org-1")).toEqual({
      installation: { jobs_per_month: 2 },
      repository: null,
    });
    expect(quotasFor(quotas, { installationId: 9, repositoryFullName: "octo-org/widgets" }, "org-9")).toEqual({
      installation: { jobs_per_month: 100 },
      repository: { cost_usd_per_month: 5 },
    });
  });
});

describe.each(testDrivers)("monthly quotas (%s)", (driver) => {
  const database = useTestDatabase(driver);
  const log = pino({ level: "silent" });

  it("the job past the installation's quota is held, says which quota and when it resets, and is let go when the month turns", async () => {
    await seedInstallation(database.db, 1);
    const clock = new ManualClock(new Date("2026-03-20T10:00:00Z"));
    const deps = { db: database.db, github, jobTypes: JOB_TYPES, clock, log };
    const made = [];
    for (const targetNumber of [1, 2, 3]) {
      made.push(await makeJob(database.db, { targetNumber, repositoryFullName: "octo-org/gadgets", at: clock.now() }));
    }
    expect(await dispatchJob(deps, made[0]?.id ?? 0)).toBe("queued");
    expect(await dispatchJob(deps, made[1]?.id ?? 0)).toBe("queued");
    expect(await dispatchJob(deps, made[2]?.id ?? 0)).toBe("pending");
    const held = await getJob(database.db, made[2]?.id ?? 0);
    expect(held).toMatchObject({ status: "pending", hold: "quota_reached" });
    expect(held?.holdReason).toBe(
      "the installation's quota of 2 jobs this month is used (2 ran); it resets 2026-04-01 00:00 UTC",
    );
    expect(renderStatusComment({ jobs: [held as never] })).toContain(
      "quota reached: the installation's quota of 2 jobs this month is used (2 ran); it resets 2026-04-01 00:00 UTC; or an admin comments `/labelrun approve`",
    );
    const { deps: sweepDeps, calls } = makeSweepDeps(database.db, { clock, quotas: JOB_TYPES.quotas });
    await runSweeps(sweepDeps, ["quotas", "long_held"]);
    expect(await getJob(database.db, held?.id ?? 0)).toMatchObject({ hold: "quota_reached" });
    // Weeks later, still in March and past MAX_HOLD_DAYS: a quota hold is not "held too long".
    clock.set(new Date("2026-03-31T23:00:00Z"));
    await runSweeps(sweepDeps, ["quotas", "long_held"]);
    expect(await getJob(database.db, held?.id ?? 0)).toMatchObject({ status: "pending", hold: "quota_reached" });
    clock.set(new Date("2026-04-01T00:01:00Z"));
    await runSweeps(sweepDeps, ["quotas"]);
    expect(await getJob(database.db, held?.id ?? 0)).toMatchObject({ status: "pending", hold: null, holdReason: null });
    expect(calls.dispatched).toContain(held?.id);
    expect(await dispatchJob(deps, held?.id ?? 0)).toBe("queued");
  });

  it("an admin's approve lets one job past the quota; a repository's cost quota holds its next job", async () => {
    await seedInstallation(database.db, 1);
    const clock = new ManualClock(new Date("2026-03-20T10:00:00Z"));
    const deps = { db: database.db, github, jobTypes: JOB_TYPES, clock, log };
    const spent = await makeJob(database.db, { targetNumber: 1, status: "completed", at: clock.now() });
    await database.db
      .update(jobs)
      .set({ costUsd: 6, queuedAt: clock.now(), finishedAt: clock.now() })
      .where(eq(jobs.id, spent.id));
    const next = await makeJob(database.db, { targetNumber: 2, at: clock.now() });
    expect(await dispatchJob(deps, next.id)).toBe("pending");
    const held = await getJob(database.db, next.id);
    expect(held?.holdReason).toBe(
      "octo-org/widgets's quota of $5.00 this month is spent ($6.00); it resets 2026-04-01 00:00 UTC",
    );
    const approved = await actOnJob(database.db, clock, held as never, "approve", {
      actor: "github:boss",
      by: "@boss with `/labelrun approve`",
      approver: "boss",
    });
    expect(approved.done).toBe(true);
    expect(await getJob(database.db, next.id)).toMatchObject({ hold: null, quotaWaivedBy: "boss" });
    expect(await dispatchJob(deps, next.id)).toBe("queued");
    const usage = await usageThisMonth(database.db, clock.now());
    expect(usage).toMatchObject({
      month: "2026-03",
      installations: [{ installationId: 1, jobs: 2, costUsd: 6 }],
      repositories: [{ installationId: 1, repository: "octo-org/widgets", jobs: 2, costUsd: 6 }],
    });
    expect(await usageThisMonth(database.db, clock.now(), [])).toMatchObject({ installations: [], repositories: [] });
  });

  it("/labelrun approve on a quota-held job is refused to a writer and allowed to an admin", async () => {
    await seedInstallation(database.db, 1);
    const clock = new ManualClock(new Date("2026-03-20T10:00:00Z"));
    const deps = { db: database.db, github, jobTypes: JOB_TYPES, clock, log };
    for (const targetNumber of [1, 2]) {
      const job = await makeJob(database.db, { targetNumber, repositoryFullName: "octo-org/gadgets", at: clock.now() });
      await dispatchJob(deps, job.id);
    }
    const held = await makeJob(database.db, {
      targetNumber: 3,
      repositoryFullName: "octo-org/gadgets",
      at: clock.now(),
    });
    await dispatchJob(deps, held.id);
    expect((await getJob(database.db, held.id))?.hold).toBe("quota_reached");
    let permission = "write";
    const replies: string[] = [];
    const port = {
      ...github,
      addReaction: async () => {},
      createComment: async (_ref: unknown, body: string) => {
        replies.push(body);
        return { id: 1 };
      },
      getPermission: async () => permission,
    } as unknown as GitHubPort;
    const commandDeps = {
      db: database.db,
      github: port,
      clock,
      log,
      jobTypes: JOB_TYPES,
      permissions: new PermissionCache(port, clock, 0),
      services: { dispatch: async () => {}, onJobChanged: async () => {} } as never,
    };
    const command = async (commentId: number) => {
      const row = await recordCommand(database.db, {
        commentId,
        installationId: 1,
        repositoryId: held.repositoryId,
        repositoryFullName: "octo-org/gadgets",
        targetNumber: 3,
        author: "mona",
        command: "approve",
        jobType: null,
        createdAt: clock.now(),
      });
      return runCommand(commandDeps, row as never);
    };
    const refused = await command(1);
    expect(refused.done).toBe(false);
    expect(replies[0]).toContain(`Only a repository admin can let job #${held.id} past its quota`);
    expect((await getJob(database.db, held.id))?.hold).toBe("quota_reached");
    permission = "admin";
    expect((await command(2)).done).toBe(true);
    expect(await getJob(database.db, held.id)).toMatchObject({ hold: null, quotaWaivedBy: "mona" });
  });
});
