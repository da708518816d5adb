import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema.js";
import { bigintArrayParam, timestampParam } from "../db/sql-values.js";
import { metrics } from "../metrics.js";
import { recordChange } from "./record-change.js";
import { assertTransition } from "./states.js";

export interface ClaimRequest {
  workerId: string;
  at: Date;
  /** How long the claim holds without a heartbeat before the sweep calls the worker lost. */
  leaseSeconds: number;
  /** Running jobs allowed per installation, across all workers. */
  installationLimit: number;
  /** Lower limits for some job types (per installation). */
  jobTypeLimits?: Readonly<Record<string, number>>;
  /** Only claim these job types (a worker that knows a subset). Omit for all. */
  jobTypes?: readonly string[];
}

/** How many installations one claim looks at before it reports "nothing to do". */
const INSTALLATIONS_PER_CLAIM = 8;

/**
 * Claims the oldest due `queued` job of an installation that is under its
 * concurrency limit, and moves it to `running` under this worker.
 *
 * Two races are settled here. Claimers of the same installation serialise on
 * that installation's row lock (`FOR NO KEY UPDATE`, which does not block the
 * foreign-key checks of new jobs), and count its running jobs in a statement
 * that starts after the lock is held, so they see each other's claims and
 * never exceed the limit. The job row itself is taken `FOR UPDATE SKIP LOCKED`
 * so a claim never waits on a job another transaction is moving.
 */
export async function claimNextJob(db: Database, request: ClaimRequest): Promise<JobRow | null> {
  const tried: number[] = [];
  for (let round = 0; round < INSTALLATIONS_PER_CLAIM; round++) {
    const outcome = await db.transaction(async (tx) => {
      const now = timestampParam(request.at);
      const typeFilter = request.jobTypes
        ? sql`and j.job_type = any(${`{${request.jobTypes.join(",")}}`}::text[])`
        : sql``;
      const [candidate] = await queryRows<{ installation_id: string | number }>(
        tx,
        sql`select j.installation_id from jobs j
            where j.status = 'queued' and (j.run_after is null or j.run_after <= ${now})
              and j.hold is null
              and j.installation_id <> all(${bigintArrayParam(tried)}) ${typeFilter}
            order by j.queued_at, j.id limit 1`,
      );
      if (!candidate) return { done: true as const, job: null };
      const installationId = Number(candidate.installation_id);

      const [usable] = await queryRows(
        tx,
        sql`select id from installations
            where id = ${installationId} and suspended_at is null and deleted_at is null
            for no key update`,
      );
      if (!usable) return { done: false as const, installationId, job: null };

      const typeLimits = JSON.stringify(request.jobTypeLimits ?? {});
      const [claimed] = await tx
        .update(jobs)
        .set({
          status: "running",
          attempt: sql`${jobs.attempt} + 1`,
          workerId: request.workerId,
          startedAt: request.at,
          heartbeatAt: request.at,
          updatedAt: request.at,
          leaseExpiresAt: sql`${now} + ${request.leaseSeconds} * interval '1 second'`,
          deadlineAt: sql`${now} + ${jobs.timeoutSeconds} * interval '1 second'`,
          progress: null,
          progressMessage: null,
          failureCode: null,
          failureMessage: null,
          runAfter: null,
        })
        .where(
          sql`${jobs.id} = (
            select j.id from jobs j
            where j.installation_id = ${installationId} and j.status = 'queued' and j.hold is null
              and (j.run_after is null or j.run_after <= ${now}) ${typeFilter}
              and (select count(*) from jobs r where r.installation_id = ${installationId} and r.status = 'running')
                  < ${request.installationLimit}
              and (select count(*) from jobs r where r.installation_id = ${installationId} and r.status = 'running'
                     and r.job_type = j.job_type)
                  < coalesce((${typeLimits}::jsonb ->> j.job_type)::int, ${request.installationLimit})
            order by j.queued_at, j.id
            limit 1
            for update skip locked)`,
        )
        .returning();
      if (!claimed) return { done: false as const, installationId, job: null };

      assertTransition("queued", "running");
      await recordChange(tx, {
        job: claimed,
        from: "queued",
        at: request.at,
        actor: `worker:${request.workerId}`,
        code: "CLAIMED",
        data: { attempt: claimed.attempt },
      });
      return { done: true as const, job: claimed };
    });
    if (outcome.done) {
      if (outcome.job) {
        metrics.transitions.inc({ from: "queued", to: "running" });
        if (outcome.job.queuedAt)
          metrics.queueWait.observe((request.at.getTime() - outcome.job.queuedAt.getTime()) / 1000);
      }
      return outcome.job;
    }
    tried.push(outcome.installationId);
  }
  return null;
}
