import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/client.js";
import type { JobState } from "../../src/jobs/states.js";
import { makeJob, seedInstallation } from "./factories.js";

export const NOW = new Date("2026-03-10T15:00:00Z");
const DAY = 86_400_000;

/** One finished job: `daysAgo` before NOW's day ends, with its run and wait in seconds. */
export async function finishedJob(
  db: Database,
  spec: {
    repository: string;
    status: JobState;
    daysAgo: number;
    runSeconds?: number;
    waitSeconds?: number;
    cost?: number;
    code?: string;
    jobType?: string;
    installationId?: number;
    duplicateOf?: number;
  },
) {
  const job = await makeJob(db, {
    installationId: spec.installationId ?? 1,
    repositoryFullName: spec.repository,
    jobType: spec.jobType ?? "implement",
  });
  const finished = new Date(NOW.getTime() - spec.daysAgo * DAY);
  const started = new Date(finished.getTime() - (spec.runSeconds ?? 60) * 1000);
  const queued = new Date(started.getTime() - (spec.waitSeconds ?? 5) * 1000);
  await db.execute(sql`update jobs set status = ${spec.status}, finished_at = ${finished.toISOString()},
    started_at = ${spec.duplicateOf ? null : started.toISOString()}, queued_at = ${queued.toISOString()},
    cost_usd = ${spec.cost ?? null}, failure_code = ${spec.code ?? null}, duplicate_of = ${spec.duplicateOf ?? null}
    where id = ${job.id}`);
  return job;
}

/** The fixture every insight test reads: figures small enough to check by hand. */
export async function seedInsights(db: Database) {
  await seedInstallation(db, 1);
  await seedInstallation(db, 2);
  const first = await finishedJob(db, {
    repository: "acme/api",
    status: "completed",
    daysAgo: 1,
    runSeconds: 60,
    waitSeconds: 10,
    cost: 1,
  });
  await finishedJob(db, {
    repository: "acme/api",
    status: "completed",
    daysAgo: 1,
    runSeconds: 120,
    waitSeconds: 20,
    cost: 0.5,
  });
  await finishedJob(db, {
    repository: "acme/api",
    status: "completed",
    daysAgo: 2,
    runSeconds: 180,
    waitSeconds: 30,
    cost: 0.25,
    jobType: "review",
  });
  await finishedJob(db, {
    repository: "acme/web",
    status: "failed",
    daysAgo: 1,
    runSeconds: 30,
    waitSeconds: 40,
    cost: 0.1,
    code: "AGENT_ERROR",
  });
  await finishedJob(db, {
    repository: "acme/web",
    status: "abandoned",
    daysAgo: 3,
    runSeconds: 600,
    waitSeconds: 50,
    code: "TIMEOUT",
  });
  await finishedJob(db, { repository: "acme/api", status: "cancelled", daysAgo: 2, runSeconds: 10, waitSeconds: 60 });
  for (let i = 0; i < 2; i++)
    await finishedJob(db, { repository: "acme/api", status: "cancelled", daysAgo: 1, duplicateOf: first.id });
  await finishedJob(db, { repository: "acme/api", status: "completed", daysAgo: 40, cost: 9 });
  await finishedJob(db, { repository: "other/site", status: "completed", daysAgo: 1, cost: 2, installationId: 2 });
}
