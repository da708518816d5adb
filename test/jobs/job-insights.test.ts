import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { jobInsights } from "../../src/jobs/job-insights.js";
import { rollUpJobDays } from "../../src/jobs/roll-up-job-days.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { finishedJob, NOW, seedInsights } from "../support/insights-fixture.js";

function expectNear(value: number | null, truth: number) {
  expect(value).not.toBeNull();
  expect(Math.abs((value ?? 0) - truth)).toBeLessThanOrEqual(truth * 0.1);
}

describe.each(testDrivers)("insight figures (%s)", (driver) => {
  const database = useTestDatabase(driver);

  it("counts outcomes per day, success rate, percentiles, cost, repositories, job types and failure codes; duplicates folded", async () => {
    await seedInsights(database.db);
    const insights = await jobInsights(database.db, { until: NOW, days: 30, filter: { visibleInstallations: [1] } });
    expect(insights.totals).toMatchObject({
      finished: 6,
      completed: 3,
      failed: 1,
      abandoned: 1,
      cancelled: 1,
      successRate: 3 / 5,
      duplicates: 2,
    });
    expect(insights.totals.costUsd).toBeCloseTo(1.85, 6);
    // Runs of 10, 30, 60, 120, 180 and 600 s, waits of 10 … 60 s: nearest-rank percentiles, within their 10 % bucket.
    expectNear(insights.totals.durationP50, 60);
    expectNear(insights.totals.durationP90, 600);
    expectNear(insights.totals.waitP50, 30);
    expectNear(insights.totals.waitP90, 60);
    expect(insights.days).toHaveLength(30);
    expect(insights.days.at(-1)?.day).toBe("2026-03-10");
    expect(insights.days.find((d) => d.day === "2026-03-09")).toMatchObject({ completed: 2, failed: 1, cancelled: 0 });
    expect(insights.days.find((d) => d.day === "2026-03-09")?.costUsd).toBeCloseTo(1.6, 6);
    expect(insights.days.find((d) => d.day === "2026-03-07")).toMatchObject({ abandoned: 1 });
    expect(insights.repositories).toEqual([
      { repository: "acme/api", jobs: 4, completed: 3, failed: 0, costUsd: 1.75 },
      { repository: "acme/web", jobs: 2, completed: 0, failed: 2, costUsd: 0.1 },
    ]);
    expect(insights.jobTypes.map((t) => [t.jobType, t.jobs, t.completed])).toEqual([
      ["implement", 5, 2],
      ["review", 1, 1],
    ]);
    expectNear(insights.jobTypes[0]?.durationP50 ?? null, 60);
    expectNear(insights.jobTypes[1]?.durationP50 ?? null, 180);
    expect(insights.failureCodes).toEqual([
      { code: "AGENT_ERROR", count: 1 },
      { code: "TIMEOUT", count: 1 },
    ]);
  });

  it("a window, a repository filter and a person's installations narrow what is counted", async () => {
    await seedInsights(database.db);
    const ninety = await jobInsights(database.db, { until: NOW, days: 90, filter: {} });
    expect(ninety.totals.finished).toBe(8);
    const seven = await jobInsights(database.db, { until: NOW, days: 7, filter: { repositoryFullName: "acme/web" } });
    expect(seven.totals).toMatchObject({ finished: 2, failed: 1, abandoned: 1, successRate: 0 });
    const nobody = await jobInsights(database.db, { until: NOW, days: 90, filter: { visibleInstallations: [] } });
    expect(nobody.totals).toMatchObject({ finished: 0, successRate: null, durationP50: null });
    expect(nobody.repositories).toEqual([]);
  });

  it("days that are over are rolled up once, and the figures read from the rollups are the figures read from the jobs", async () => {
    await seedInsights(database.db);
    // One job ends today: today is never rolled up, it is read from the jobs.
    await finishedJob(database.db, {
      repository: "acme/api",
      status: "failed",
      daysAgo: 0,
      code: "API_ERROR",
      cost: 0.3,
    });
    const filters = [
      {},
      { visibleInstallations: [1] },
      { jobType: "implement" },
      { accountLogin: "org-2" },
      { installationId: 1, jobType: "review" },
    ];
    const before = [];
    for (const filter of filters) before.push(await jobInsights(database.db, { until: NOW, days: 90, filter }));
    const rolled = await Promise.all([
      rollUpJobDays(database.db, { now: NOW, maxDays: 100 }),
      rollUpJobDays(database.db, { now: NOW, maxDays: 100 }),
    ]);
    // Every day from the first finished job (40 days ago) to yesterday, each by one of the two sweepers.
    expect(rolled[0] + rolled[1]).toBe(40);
    expect(await rollUpJobDays(database.db, { now: NOW, maxDays: 100 })).toBe(0);
    const [frontier] = await queryRows<{ n: string; last: string }>(
      database.db,
      sql`select count(*) as n, to_char(max(day), 'YYYY-MM-DD') as last from job_rollup_days`,
    );
    expect([Number(frontier?.n), frontier?.last]).toEqual([40, "2026-03-09"]);
    for (const [i, filter] of filters.entries()) {
      expect(await jobInsights(database.db, { until: NOW, days: 90, filter }), JSON.stringify(filter)).toEqual(
        before[i],
      );
    }
    // Jobs changed in the table after their day was rolled up are not counted again (the rollup is the record).
    await database.db.execute(
      sql`delete from jobs where finished_at < ${new Date(NOW.getTime() - 86_400_000).toISOString()}::timestamptz and finished_at > '2026-03-05'`,
    );
    expect((await jobInsights(database.db, { until: NOW, days: 90 })).totals.finished).toBe(before[0]?.totals.finished);
  });
});
