import { is, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.js";
import { JOB_CHANNEL, type JobNotice } from "./notify.js";

/**
 * How long a notice no one waits on may wait to go out with later ones: any notice but `queued`
 * (a worker goes straight to a queued job; the others refresh boards, tell a worker a slot of an
 * installation at its limit is free, or stop an agent whose job ended elsewhere, which its
 * heartbeat also finds). A worker's claims and ends of several turns then share one NOTIFY
 * statement: bench:queue sent one per claim and one per end batch, a third of its statements.
 * Tests lengthen it to make a batch's boundaries certain.
 */
export const noticePacing = { unhurriedMs: 5 };

interface Batch {
  notices: JobNotice[];
  /** Settles once the batch's NOTIFY has gone out (or failed: a notice is a hint). */
  sent: Promise<void>;
  /** Sends the batch at the next turn of the event loop instead of when its wait is over. */
  hurry(): void;
}

/** The notices of this process not sent yet, per database. */
const waiting = new WeakMap<Database, Batch>();
/** Per database, settles once every batch that left the waiting list has gone out. */
const sending = new WeakMap<Database, Promise<void>>();

/** The batch notices join until it goes out; a new one waits at most noticePacing.unhurriedMs. */
function openBatch(db: Database): Batch {
  const open = waiting.get(db);
  if (open) return open;
  const notices: JobNotice[] = [];
  let go = () => {};
  const due = new Promise<void>((resolve) => {
    go = resolve;
  });
  const timer = setTimeout(go, noticePacing.unhurriedMs);
  let hurried = false;
  const batch: Batch = {
    notices,
    sent: due.then(() => {
      clearTimeout(timer);
      waiting.delete(db);
      // The changes have committed; a failed hint must not turn one into a failure.
      const sent = notify(db, notices).catch(() => {});
      const before = sending.get(db);
      const all = before ? Promise.all([before, sent]).then(() => {}) : sent;
      sending.set(db, all);
      void all.then(() => {
        if (sending.get(db) === all) sending.delete(db);
      });
      return sent;
    }),
    hurry() {
      if (hurried) return;
      hurried = true;
      clearTimeout(timer);
      setImmediate(go);
    },
  };
  waiting.set(db, batch);
  return batch;
}

/**
 * Announces committed job changes on the NOTIFY channel (workers wake, boards
 * refresh) and resolves once they have gone out. A NOTIFY is a hint, never the
 * record: the change, its event and its marks are durable, and every listener
 * also polls.
 *
 * Why not in the changing statement: PostgreSQL lets one notifying
 * transaction commit at a time (a cluster-wide lock held from before the
 * commit record until after its WAL flush), so a NOTIFY inside every claim and
 * completion serialises all of them; `bench:queue` showed that lock as the
 * main wait. Here the notices waiting go out together at the next turn of the
 * event loop, in one statement that writes nothing, so it commits without a
 * WAL flush. Inside a caller's transaction the NOTIFY is part of it instead
 * (delivered at its commit, never before). A change whose notice is lost to a
 * crash between the commit and this statement is found by the listeners'
 * polling.
 */
export function announceChanges(db: Database, notices: readonly JobNotice[]): Promise<void> {
  if (!notices.length) return Promise.resolve();
  if (is(db, PgTransaction)) return notify(db, notices);
  const batch = openBatch(db);
  batch.notices.push(...notices);
  batch.hurry();
  return batch.sent;
}

/**
 * As announceChanges, without waiting for the hint to go out: a claim or a
 * transition answers as soon as its change has committed. A `queued` notice
 * goes at the next turn (taking the waiting ones along); the others may wait
 * noticePacing.unhurriedMs to share a statement. Inside a transaction the
 * NOTIFY is part of it, so that is waited for.
 */
export function announceSoon(db: Database, notices: readonly JobNotice[]): Promise<void> {
  if (!notices.length || is(db, PgTransaction)) return announceChanges(db, notices);
  const batch = openBatch(db);
  batch.notices.push(...notices);
  if (notices.some((notice) => notice.status === "queued")) batch.hurry();
  return Promise.resolve();
}

/**
 * Sends the notices still waiting for `db` now, and resolves once they and the batches already
 * on their way have gone out (before its connections close; a fixture's notices before a test listens).
 */
export async function announceWaiting(db: Database): Promise<void> {
  const batch = waiting.get(db);
  batch?.hurry();
  await batch?.sent;
  await sending.get(db);
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
