import { coerceError } from "../../errors.js";
import type { HookDelivery } from "../../github/port.js";
import type { SweepDeps } from "../sweep-deps.js";
import { claimRedelivery, readSince, recordRedeliveryError, writeSince } from "./redelivery-store.js";

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
  const since = await readSince(deps.db, now, FIRST_LOOK_MS);
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
    if (!(await claimRedelivery(deps.db, delivery, now))) continue;
    try {
      await port.redeliver(delivery.id);
      asked++;
    } catch (error) {
      deps.log.warn({ err: error, deliveryId: delivery.guid }, "GitHub refused to redeliver");
      await recordRedeliveryError(deps.db, delivery.id, coerceError(error).message);
    }
  }
  await writeSince(deps.db, new Date(now.getTime() - OVERLAP_MS), now);
  if (asked) deps.log.info({ asked }, "asked GitHub to redeliver failed webhook deliveries");
  return asked;
}
