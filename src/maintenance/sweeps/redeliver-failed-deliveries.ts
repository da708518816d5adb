import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { maintenanceState, redeliveries } from "../../db/schema.js";
import type { SweepDeps } from "../sweep-deps.js";

/** One entry of `GET /app/hook/deliveries`. */
export interface HookDelivery {
  id: number;
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  statusCode: number;
  event: string;
}

/** GitHub's hook deliveries API, authenticated as the app (JWT). */
export interface DeliveriesPort {
  /** A page of deliveries, newest first, and the cursor of the next page (null: last page). */
  list(cursor: string | null): Promise<{ deliveries: HookDelivery[]; next: string | null }>;
  redeliver(deliveryId: number): Promise<void>;
}

const CURSOR_KEY = "redelivery.since";
/** How far back the first sweep looks, and the overlap kept between sweeps (deliveries in flight). */
const FIRST_LOOK_MS = 60 * 60_000;
const OVERLAP_MS = 5 * 60_000;
const MAX_PAGES = 10;

/**
 * Finds webhook deliveries that failed since the last sweep (labelrun was
 * down, or answered 5xx with its database away) and asks GitHub to redeliver
 * each once. A delivery whose guid was later delivered fine is left alone;
 * what was asked is remembered in `redeliveries`, so overlapping sweeps and
 * several processes never ask twice.
 */
export async function sweepFailedDeliveries(deps: SweepDeps): Promise<number> {
  const port = deps.deliveries;
  if (!port) return 0;
  const now = deps.clock.now();
  const since = await readSince(deps.db, now);
  const seen: HookDelivery[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { deliveries, next } = await port.list(cursor);
    seen.push(...deliveries);
    const reachedSince = deliveries.some((d) => d.deliveredAt < since);
    if (!next || reachedSince) break;
    cursor = next;
  }
  const succeeded = new Set(seen.filter((d) => d.statusCode >= 200 && d.statusCode < 300).map((d) => d.guid));
  const failed = seen.filter(
    (d) =>
      d.deliveredAt >= since && !d.redelivery && (d.statusCode === 0 || d.statusCode >= 400) && !succeeded.has(d.guid),
  );
  let asked = 0;
  for (const delivery of failed.slice(0, deps.settings.batchSize)) {
    // Claim the delivery first: a second sweep (or process) finds the row and skips it.
    const [claimed] = await deps.db
      .insert(redeliveries)
      .values({
        deliveryId: delivery.id,
        guid: delivery.guid,
        event: delivery.event,
        statusCode: delivery.statusCode,
        askedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!claimed) continue;
    try {
      await port.redeliver(delivery.id);
      asked++;
    } catch (error) {
      deps.log.warn({ err: error, deliveryId: delivery.guid }, "GitHub refused to redeliver");
      await deps.db
        .update(redeliveries)
        .set({ error: (error as Error).message })
        .where(eq(redeliveries.deliveryId, delivery.id));
    }
  }
  await writeSince(deps.db, new Date(now.getTime() - OVERLAP_MS), now);
  if (asked) deps.log.info({ asked }, "asked GitHub to redeliver failed webhook deliveries");
  return asked;
}

async function readSince(db: Database, now: Date): Promise<Date> {
  const [row] = await db.select().from(maintenanceState).where(eq(maintenanceState.key, CURSOR_KEY));
  const value = row?.value as { since?: string } | undefined;
  return value?.since ? new Date(value.since) : new Date(now.getTime() - FIRST_LOOK_MS);
}

async function writeSince(db: Database, since: Date, now: Date): Promise<void> {
  const value = { since: since.toISOString() };
  await db
    .insert(maintenanceState)
    .values({ key: CURSOR_KEY, value, updatedAt: now })
    .onConflictDoUpdate({ target: maintenanceState.key, set: { value, updatedAt: now } });
}
