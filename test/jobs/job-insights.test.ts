import { describe, expect, it } from "vitest";
import { jobInsights } from "../../src/jobs/job-insights.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { NOW, seedInsights } from "../support/insights-fixture.js";

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
    // Durations 10, 30, 60, 120, 180, 600 s; waits 10 … 60 s.
    expect(insights.totals.durationP50).toBe(90);
    expect(insights.totals.durationP90).toBe(390);
    expect(insights.totals.waitP50).toBe(35);
    expect(insights.days).toHaveLength(30);
    expect(insights.days.at(-1)?.day).toBe("2026-03-10");
    expect(insights.days.find((d) => d.day === "2026-03-09")).toMatchObject({ completed: 2, failed: 1, cancelled: 0 });
    expect(insights.days.find((d) => d.day === "2026-03-09")?.costUsd).toBeCloseTo(1.6, 6);
    expect(insights.days.find((d) => d.day === "2026-03-07")).toMatchObject({ abandoned: 1 });
    expect(insights.repositories).toEqual([
      { repository: "acme/api", jobs: 4, completed: 3, failed: 0, costUsd: 1.75 },
      { repository: "acme/web", jobs: 2, completed: 0, failed: 2, costUsd: 0.1 },
    ]);
    expect(insights.jobTypes.map((t) => [t.jobType, t.jobs, t.completed, t.durationP50])).toEqual([
      ["implement", 5, 2, 60],
      ["review", 1, 1, 180],
    ]);
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
});
