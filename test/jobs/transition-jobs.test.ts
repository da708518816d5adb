import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { JOB_CHANNEL } from "../../src/jobs/notify.js";
import { transitionJobs } from "../../src/jobs/transition-jobs.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";
import { waitUntil } from "../support/processes.js";

describe.each(testDrivers)("moving a batch of jobs in one statement (%s)", (driver) => {
  const database = useTestDatabase(driver, { max: 10 });

  async function deferredOn(targets: number[]) {
    await seedInstallation(database.db, 1);
    const made = [];
    // Two jobs on one target are of two job types (one active job per target and type).
    for (const [i, targetNumber] of targets.entries())
      made.push(
        await makeJob(database.db, {
          targetNumber,
          status: "deferred",
          jobType: targets.indexOf(targetNumber) === i ? "implement" : "review",
        }),
      );
    // Their comments are up to date before the move.
    await database.db.execute(sql`insert into status_comments (installation_id, repository_id, repository_full_name, target_number, version, synced_version, updated_at)
      select distinct installation_id, repository_id, repository_full_name, target_number, 5, 5, ${T0.toISOString()}::timestamptz from jobs
      on conflict (repository_id, target_number) do update set version = 5, synced_version = 5, dirty_since = null`);
    return made;
  }

  it("records what transitionJob records for each job: the event, its target's comment behind once per change, reaction marks for ended jobs, a NOTIFY each", async () => {
    const [a1, a2, b1, moved] = await deferredOn([10, 10, 11, 12]);
    // One of them moved meanwhile: the compare-and-set leaves it alone.
    await database.db.execute(sql`update jobs set status = 'queued' where id = ${moved?.id ?? 0}`);
    const notices: string[] = [];
    const unlisten = await database.listen(JOB_CHANNEL, (payload) => notices.push(payload));
    const at = new Date(T0.getTime() + 60_000);
    const queued = await transitionJobs(database.db, {
      ids: [a1?.id ?? 0, a2?.id ?? 0, moved?.id ?? 0],
      from: "deferred",
      to: "queued",
      at,
      actor: "maintenance",
    });
    const abandoned = await transitionJobs(database.db, {
      ids: [b1?.id ?? 0],
      from: "deferred",
      to: "abandoned",
      at,
      actor: "maintenance",
      code: "MAX_ATTEMPTS",
      message: "gave up after 3 attempts",
    });
    expect(queued.map((job) => [job.id, job.status]).sort()).toEqual([
      [a1?.id, "queued"],
      [a2?.id, "queued"],
    ]);
    expect(queued[0]?.queuedAt?.toISOString()).toBe(at.toISOString());
    expect(abandoned).toMatchObject([
      { id: b1?.id, status: "abandoned", failureCode: "MAX_ATTEMPTS", finishedAt: at, reactionVersion: 1 },
    ]);
    expect(queued.every((job) => job.reactionVersion === 0)).toBe(true);
    const events = await queryRows<{
      job_id: string | number;
      from_status: string;
      to_status: string;
      actor: string;
      code: string | null;
    }>(
      database.db,
      sql`select job_id, from_status::text, to_status::text, actor, code::text from job_events where at = ${at.toISOString()}::timestamptz order by job_id`,
    );
    expect(events.map((e) => [Number(e.job_id), e.from_status, e.to_status, e.actor, e.code])).toEqual([
      [a1?.id, "deferred", "queued", "maintenance", null],
      [a2?.id, "deferred", "queued", "maintenance", null],
      [b1?.id, "deferred", "abandoned", "maintenance", "MAX_ATTEMPTS"],
    ]);
    const comments = await queryRows<{
      target_number: number;
      version: number;
      synced_version: number;
      behind: boolean;
    }>(
      database.db,
      sql`select target_number, version, synced_version, dirty_since is not null as behind from status_comments order by target_number`,
    );
    expect(comments.map((c) => [Number(c.target_number), Number(c.version), c.behind])).toEqual([
      [10, 7, true],
      [11, 6, true],
      [12, 5, false],
    ]);
    await waitUntil(() => notices.length >= 3, "the three notices", 5_000);
    await unlisten();
    expect(notices.map((n) => JSON.parse(n)).sort((x, y) => x.id - y.id)).toEqual([
      { id: a1?.id, status: "queued", installationId: 1 },
      { id: a2?.id, status: "queued", installationId: 1 },
      { id: b1?.id, status: "abandoned", installationId: 1 },
    ]);
  });

  it("two sweepers moving the same batch at once move each job once", async () => {
    const made = await deferredOn([1, 2, 3, 4, 5, 6]);
    const ids = made.map((job) => job.id);
    const at = new Date(T0.getTime() + 60_000);
    const request = { ids, from: "deferred" as const, to: "queued" as const, at, actor: "maintenance" };
    const [first, second] = await Promise.all([
      transitionJobs(database.db, request),
      transitionJobs(database.db, request),
    ]);
    expect((first?.length ?? 0) + (second?.length ?? 0)).toBe(6);
    const [events] = await queryRows<{ n: string | number }>(
      database.db,
      sql`select count(*) as n from job_events where to_status = 'queued' and at = ${at.toISOString()}::timestamptz`,
    );
    expect(Number(events?.n)).toBe(6);
  });

  it("an illegal move is refused before the database is touched", async () => {
    await expect(
      transitionJobs(database.db, { ids: [1], from: "completed", to: "queued", at: T0, actor: "maintenance" }),
    ).rejects.toThrow();
  });
});
