import { eq, getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type JobRow, jobs } from "../../src/db/schema.js";
import { findActiveJobs, findJobsForTarget, getJob } from "../../src/jobs/find-jobs.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

/** A value of each column's SQL type (enums and the keys left as they are). */
function everyColumnSet(id: number): Partial<JobRow> {
  const values: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(jobs))) {
    const type = column.getSQLType();
    if (key === "id" || key === "installationId" || column.enumValues) continue;
    if (/^(blocked_by|parent_job_id|retry_of|duplicate_of)$/.test(column.name)) values[key] = id;
    else if (type === "text") values[key] = `${key} "'\\ ✓`;
    else if (type === "integer") values[key] = 7;
    else if (type === "bigint") values[key] = 9_007_199_254_740_000;
    else if (type.startsWith("timestamp")) values[key] = new Date(T0.getTime() + 1234);
    else if (type === "boolean") values[key] = true;
    else if (type === "jsonb") values[key] = { nested: [1, "two", null], "key with ✓": true };
    else if (type.startsWith("numeric") || type.startsWith("double") || type === "real") values[key] = 1.5;
  }
  return values as Partial<JobRow>;
}

describe.each(testDrivers)("reading jobs on %s", (driver) => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  it("a job read by id, by target or as active has every column as drizzle's own select gives it", async () => {
    const job = await makeJob(database.db, { status: "queued", targetNumber: 3 });
    await database.db.update(jobs).set(everyColumnSet(job.id)).where(eq(jobs.id, job.id));
    const [drizzles] = await database.db.select().from(jobs).where(eq(jobs.id, job.id));
    if (!drizzles) throw new Error("no row");
    const set = Object.values(drizzles).filter((value) => value !== null).length;
    expect(set).toBeGreaterThanOrEqual(Object.keys(drizzles).length - 3); // only enum columns may be null

    const target = { repositoryId: drizzles.repositoryId, targetNumber: drizzles.targetNumber };
    expect(await getJob(database.db, job.id)).toEqual(drizzles);
    expect(await findJobsForTarget(database.db, target)).toEqual([drizzles]);
    expect(await findActiveJobs(database.db, target)).toEqual([drizzles]);
    expect(await getJob(database.db, job.id + 1000)).toBeUndefined();
  });
});
