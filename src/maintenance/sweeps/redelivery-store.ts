import { eq } from "drizzle-orm";
import type { Database } from "../../db/client.js";
import { maintenanceState, redeliveries } from "../../db/schema.js";
import type { HookDelivery } from "../../github/port.js";

const CURSOR_KEY = "redelivery.since";

/** Claims a failed delivery for one redelivery request: false when a sweep (here or elsewhere) asked already. */
export async function claimRedelivery(db: Database, delivery: HookDelivery, now: Date): Promise<boolean> {
  const [claimed] = await db
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
  return claimed !== undefined;
}

export async function recordRedeliveryError(db: Database, deliveryId: number, message: string): Promise<void> {
  await db.update(redeliveries).set({ error: message }).where(eq(redeliveries.deliveryId, deliveryId));
}

/** Where the last sweep stopped looking, or `firstLookMs` ago the first time. */
export async function readSince(db: Database, now: Date, firstLookMs: number): Promise<Date> {
  const [row] = await db.select().from(maintenanceState).where(eq(maintenanceState.key, CURSOR_KEY));
  const value = row?.value as { since?: string } | undefined;
  return value?.since ? new Date(value.since) : new Date(now.getTime() - firstLookMs);
}

export async function writeSince(db: Database, since: Date, now: Date): Promise<void> {
  const value = { since: since.toISOString() };
  await db
    .insert(maintenanceState)
    .values({ key: CURSOR_KEY, value, updatedAt: now })
    .onConflictDoUpdate({ target: maintenanceState.key, set: { value, updatedAt: now } });
}
