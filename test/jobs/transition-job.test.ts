import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { jobEvents, jobs } from "../../src/db/schema.js";
import { listJobEvents } from "../../src/jobs/find-jobs.js";
import { IllegalTransitionError, isTerminal, JOB_STATES, TRANSITIONS } from "../../src/jobs/states.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation, T0 } from "../support/factories.js";

const pairs = JOB_STATES.flatMap((from) => JOB_STATES.map((to) => ({ from, to })));
const later = new Date(T0.getTime() + 60_000);

describe.each(testDrivers)("transitionJob on %s", (driver) => {
  const database = useTestDatabase(driver, {
    seed: async (db) => {
      await seedInstallation(db);
    },
  });

  it.each(pairs)("$from → $to is allowed exactly when the table lists it", async ({ from, to }) => {
    const { db } = database;
    const job = await makeJob(db, { status: from });
    const allowed = TRANSITIONS[from].includes(to);
    if (!allowed) {
      await expect(transitionJob(db, { jobId: job.id, from, to, at: later, actor: "test" })).rejects.toBeInstanceOf(
        IllegalTransitionError,
      );
      const [row] = await db.select().from(jobs).where(eq(jobs.id, job.id));
      expect(row?.status).toBe(from);
      expect(row?.updatedAt).toEqual(T0);
      expect(await listJobEvents(db, job.id)).toHaveLength(1); // only the creation
      return;
    }
    const result = await transitionJob(db, {
      jobId: job.id,
      from,
      to,
      at: later,
      actor: "test",
      code: to === "failed" ? "AGENT_ERROR" : null,
      message: to === "failed" ? "the agent exited with status 2" : null,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.job.status).toBe(to);
    expect(result.job.updatedAt).toEqual(later);
    expect(result.job.queuedAt).toEqual(to === "queued" ? later : null);
    expect(result.job.startedAt).toEqual(to === "running" ? later : null);
    expect(result.job.finishedAt).toEqual(isTerminal(to) ? later : null);
    const events = await listJobEvents(db, job.id);
    expect(events.at(-1)).toMatchObject({ fromStatus: from, toStatus: to, actor: "test", at: later });
    if (to === "failed") {
      expect(result.job).toMatchObject({
        failureCode: "AGENT_ERROR",
        failureMessage: "the agent exited with status 2",
      });
      expect(events.at(-1)).toMatchObject({ code: "AGENT_ERROR", message: "the agent exited with status 2" });
    }
  });

  it("a lost compare-and-set reports the job as it is now and writes nothing", async () => {
    const { db } = database;
    const job = await makeJob(db, { status: "queued" });
    const result = await transitionJob(db, { jobId: job.id, from: "pending", to: "queued", at: later, actor: "test" });
    expect(result).toMatchObject({ ok: false, reason: "conflict", job: { id: job.id, status: "queued" } });
    expect(await db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id))).toHaveLength(1);
  });

  it("transitions of one shape share a statement and each writes its own values, a null as SQL null", async () => {
    const { db } = database;
    const first = await makeJob(db, { status: "running", targetNumber: 201 });
    const second = await makeJob(db, { status: "running", targetNumber: 202 });
    const end = (jobId: number, resultUrl: string | null, data: Record<string, unknown> | null) =>
      transitionJob(db, {
        jobId,
        from: "running",
        to: "completed",
        at: later,
        actor: `worker:${jobId}`,
        message: resultUrl,
        data,
        patch: { resultUrl, resultSummary: `run ${jobId}` },
      });
    await end(first.id, "https://github.com/acme/widgets/pull/7", { files: 2 });
    await end(second.id, null, null);
    const rows = await db.select().from(jobs).where(eq(jobs.targetNumber, 201));
    expect(rows[0]).toMatchObject({
      resultUrl: "https://github.com/acme/widgets/pull/7",
      resultSummary: `run ${first.id}`,
    });
    const [other] = await db.select().from(jobs).where(eq(jobs.id, second.id));
    expect(other).toMatchObject({ resultUrl: null, resultSummary: `run ${second.id}`, status: "completed" });
    const firstEvent = (await listJobEvents(db, first.id)).at(-1);
    const secondEvent = (await listJobEvents(db, second.id)).at(-1);
    expect(firstEvent).toMatchObject({ actor: `worker:${first.id}`, data: { files: 2 } });
    expect(secondEvent).toMatchObject({ actor: `worker:${second.id}`, message: null, data: null });
    // SQL null, not the JSON value null.
    const [nulls] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from job_events where job_id = ${second.id} and data is null and to_status = 'completed'`,
    );
    expect(nulls).toEqual({ n: 1 });
  });

  it("a patch value that is an SQL expression is refused before anything is written", async () => {
    const { db } = database;
    const job = await makeJob(db, { status: "running", targetNumber: 203 });
    const patch = { resultSummary: sql`(select string_agg(login, ',') from installations)` as never };
    await expect(
      transitionJob(db, { jobId: job.id, from: "running", to: "completed", at: later, actor: "test", patch }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(await db.select().from(jobs).where(eq(jobs.id, job.id))).toMatchObject([{ status: "running" }]);
  });

  it("a transition on a job that does not exist says not_found", async () => {
    const result = await transitionJob(database.db, {
      jobId: 999,
      from: "pending",
      to: "queued",
      at: later,
      actor: "test",
    });
    expect(result).toEqual({ ok: false, reason: "not_found", job: null });
  });

  it("a worker's change applies only while it still holds the claim", async () => {
    const { db } = database;
    const job = await makeJob(db, { status: "running" });
    await db.update(jobs).set({ workerId: "w2", attempt: 2 }).where(eq(jobs.id, job.id));
    const stale = await transitionJob(db, {
      jobId: job.id,
      from: "running",
      to: "completed",
      at: later,
      actor: "worker:w1",
      claim: { workerId: "w1", attempt: 1 },
    });
    expect(stale).toMatchObject({ ok: false, reason: "conflict", job: { status: "running", workerId: "w2" } });
    const current = await transitionJob(db, {
      jobId: job.id,
      from: "running",
      to: "completed",
      at: later,
      actor: "worker:w2",
      claim: { workerId: "w2", attempt: 2 },
    });
    expect(current).toMatchObject({ ok: true, job: { status: "completed", progress: 100 } });
  });

  it("leaving a waiting state clears the hold and the previous failure reason", async () => {
    const { db } = database;
    const job = await makeJob(db, { status: "deferred" });
    await db
      .update(jobs)
      .set({ hold: "paused", failureCode: "RATE_LIMITED", failureMessage: "secondary rate limit" })
      .where(eq(jobs.id, job.id));
    const result = await transitionJob(db, { jobId: job.id, from: "deferred", to: "queued", at: later, actor: "test" });
    expect(result).toMatchObject({ ok: true, job: { hold: null, failureCode: null, failureMessage: null } });
  });

  it("raises the reaction mark in the same statement when the move leaves reactions due, and only then", async () => {
    const { db } = database;
    const reactionVersion = async (id: number) =>
      (await db.select({ v: jobs.reactionVersion }).from(jobs).where(eq(jobs.id, id)))[0]?.v;
    const ended = await makeJob(db, { status: "running" });
    await transitionJob(db, { jobId: ended.id, from: "running", to: "failed", at: later, actor: "test" });
    expect(await reactionVersion(ended.id)).toBe(1);

    const duplicate = await makeJob(db, { status: "queued", targetNumber: 99 });
    await db.update(jobs).set({ duplicateOf: ended.id }).where(eq(jobs.id, duplicate.id));
    await transitionJob(db, { jobId: duplicate.id, from: "queued", to: "cancelled", at: later, actor: "test" });
    expect(await reactionVersion(duplicate.id)).toBe(0);

    const asking = await makeJob(db, { status: "running", targetNumber: 100 });
    const patch = { hold: "awaiting_input" as const, question: "Which branch?" };
    await transitionJob(db, { jobId: asking.id, from: "running", to: "deferred", at: later, actor: "test", patch });
    expect(await reactionVersion(asking.id)).toBe(1);

    const asked = await makeJob(db, { status: "running", targetNumber: 101 });
    await transitionJob(db, {
      jobId: asked.id,
      from: "running",
      to: "deferred",
      at: later,
      actor: "test",
      patch: { ...patch, questionCommentId: 5 },
    });
    expect(await reactionVersion(asked.id)).toBe(0);

    const deferred = await makeJob(db, { status: "running", targetNumber: 102 });
    await transitionJob(db, { jobId: deferred.id, from: "running", to: "deferred", at: later, actor: "test" });
    expect(await reactionVersion(deferred.id)).toBe(0);
  });
});
