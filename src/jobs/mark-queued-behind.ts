import { sql } from "drizzle-orm";
import { type Database, queryRows } from "../db/client.js";
import { timestampParam } from "../db/sql-values.js";

/**
 * A job of an installation ended, so its queued jobs may wait for something else now (a slot
 * freed under the installation's limit): their status comments are marked behind, so the
 * reason they show is read again (by the status_comments sweep). At most `limit` targets
 * (`jobs_queued_for_claim` finds them).
 */
export async function markQueuedBehind(db: Database, installationId: number, at: Date, limit = 50): Promise<number> {
  const when = timestampParam(at);
  const rows = await queryRows<{ id: number }>(
    db,
    sql`update status_comments sc
        set version = sc.version + 1, dirty_since = coalesce(sc.dirty_since, ${when}), updated_at = ${when}
        from (select distinct repository_id, target_number from jobs
              where installation_id = ${installationId} and status = 'queued' and hold is null limit ${limit}) queued
        where sc.repository_id = queued.repository_id and sc.target_number = queued.target_number
        returning sc.id`,
  );
  return rows.length;
}
