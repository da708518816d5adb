import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createJob } from "../../src/jobs/create-job.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { boardFragment } from "../../src/web/dashboard/board-page.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeNewJob, seedInstallation, T0 } from "../support/factories.js";

const driver = testDrivers[0] ?? "pglite";

describe(`the board folds duplicate triggers (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  it("shows the job that ran, and one line for the duplicates instead of a card each", async () => {
    const first = await createJob(database.db, {
      job: makeNewJob({ installationId: 1, targetNumber: 7 }),
      at: T0,
      actor: "test",
    });
    for (let i = 0; i < 3; i++)
      expect(
        (
          await createJob(database.db, {
            job: makeNewJob({ installationId: 1, targetNumber: 7 }),
            at: T0,
            actor: "test",
          })
        ).outcome,
      ).toBe("duplicate");
    await transitionJob(database.db, { jobId: first.job.id, from: "pending", to: "cancelled", at: T0, actor: "test" });
    const board = String(await boardFragment({ db: database.db, clock: new ManualClock(T0), filter: {} }));
    const cancelled = board.slice(board.indexOf('data-column="cancelled"'));
    expect(cancelled).toContain("Cancelled (1)");
    expect(cancelled).toContain(`#${first.job.id}`);
    expect(cancelled).toContain("3 duplicate triggers ignored (not shown)");
    expect(cancelled.match(/class="card/g) ?? []).toHaveLength(1);
  });
});
