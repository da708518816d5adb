import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/client.js";
import { recordInstallation } from "../../src/db/installations.js";
import type { JobRow } from "../../src/db/schema.js";
import { announceWaiting } from "../../src/jobs/announce-changes.js";
import { createJob, type NewJob } from "../../src/jobs/create-job.js";
import type { JobState } from "../../src/jobs/states.js";

export const T0 = new Date("2026-03-01T12:00:00Z");

let nextNumber = 1;

/** A trigger on an issue of installation 1 / repository 100, with anything overridden. */
export function makeNewJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    installationId: 1,
    repositoryId: 100,
    repositoryFullName: "octo-org/widgets",
    targetNumber: nextNumber++,
    targetKind: "issue",
    targetTitle: "Make the widgets spin",
    jobType: "implement",
    triggerLabel: "agent:implement",
    triggeredBy: "octocat",
    ...overrides,
  };
}

export async function seedInstallation(db: Database, id = 1, at = T0): Promise<void> {
  await recordInstallation(db, { id, accountLogin: `org-${id}`, accountType: "Organization" }, at);
}

/** Records a job and forces it into `status` (for tests of what happens from there). */
export async function makeJob(
  db: Database,
  overrides: Partial<NewJob> & { status?: JobState; at?: Date } = {},
): Promise<JobRow> {
  const { status = "pending", at = T0, ...job } = overrides;
  const result = await createJob(db, { job: makeNewJob(job), at, actor: "test" });
  if (result.outcome !== "created") throw new Error(`makeJob: ${result.outcome}`);
  // The new job's notice is out before the fixture is used (a test listening next hears only its own).
  await announceWaiting(db);
  if (status === "pending") return result.job;
  // Bypasses the lifecycle on purpose: a fixture, not a transition under test.
  await db.execute(sql`update jobs set status = ${status} where id = ${result.job.id}`);
  return { ...result.job, status };
}

/** `count` queued jobs of one installation, older than T0 by 1…count seconds (the front of the queue). */
export async function seedQueuedFront(db: Database, installationId: number, count: number): Promise<void> {
  await db.execute(sql`
    insert into jobs (installation_id, repository_id, repository_full_name, target_number, target_kind, job_type,
                      status, created_at, updated_at, queued_at)
    select ${installationId}, 1, 'o/r', 100 + g, 'issue', 'implement', 'queued', ${T0.toISOString()}::timestamptz,
           ${T0.toISOString()}::timestamptz, ${T0.toISOString()}::timestamptz - (g || ' seconds')::interval
    from generate_series(1, ${count}::int) g`);
}
