import { is, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.js";
import { JOB_CHANNEL, type JobNotice } from "./notify.js";

/** The notices of this process waiting for the next turn of the event loop, per database. */
const waiting = new WeakMap<Database, { notices: JobNotice[]; sent: Promise<void> }>();

/**
 * Announces committed job changes on the NOTIFY channel (workers wake, boards
 * refresh). A NOTIFY is a hint, never the record: the change, its event and
 * its marks are durable, and every listener also polls.
 *
 * Why not in the changing statement: PostgreSQL lets one notifying
 * transaction commit at a time (a cluster-wide lock held from before the
 * commit record until after its WAL flush), so a NOTIFY inside every claim and
 * completion serialises all of them; `bench:queue` showed that lock as the
 * main wait. Here the notices of one event-loop turn go out together in one
 * statement that writes nothing, so it commits without a WAL flush. Inside a
 * caller's transaction the NOTIFY is part of it instead (delivered at its
 * commit, never before). A change whose notice is lost to a crash between the
 * commit and this statement is found by the listeners' polling.
 */
export function announceChanges(db: Database, notices: readonly JobNotice[]): Promise<void> {
  if (!notices.length) return Promise.resolve();
  if (is(db, PgTransaction)) return notify(db, notices);
  let batch = waiting.get(db);
  if (!batch) {
    const notices: JobNotice[] = [];
    const sent = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      waiting.delete(db);
      // The change has committed; a failed hint must not turn it into a failure.
      return notify(db, notices).catch(() => {});
    });
    batch = { notices, sent };
    waiting.set(db, batch);
  }
  batch.notices.push(...notices);
  return batch.sent;
}

/**
 * As announceChanges, without waiting for the hint to go out: a claim or a
 * transition answers as soon as its change has committed. Inside a
 * transaction the NOTIFY is part of it, so that is waited for.
 */
export function announceSoon(db: Database, notices: readonly JobNotice[]): Promise<void> {
  const sent = announceChanges(db, notices);
  return is(db, PgTransaction) ? sent : Promise.resolve();
}

async function notify(db: Database, notices: readonly JobNotice[]): Promise<void> {
  const payloads = JSON.stringify(notices.map((notice) => JSON.stringify(notice)));
  await db.execute(
    sql`select pg_notify(${JOB_CHANNEL}, notice) from json_array_elements_text(${payloads}::json) as notice`,
  );
}

/** The notice of a changed job. */
export function noticeOf(job: Pick<JobNotice, "id" | "status" | "installationId">): JobNotice {
  return { id: job.id, status: job.status, installationId: job.installationId };
}
