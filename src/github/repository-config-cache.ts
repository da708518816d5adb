import type { Clock } from "../clock.js";
import type { Database, DatabaseHandle } from "../db/client.js";
import type { RepositoryConfigRow } from "../db/schema.js";
import { setNewest } from "../newest-first-map.js";
import { getCachedRepositoryConfig, REPOSITORY_CONFIG_CHANNEL } from "./repository-config-store.js";

/**
 * This process's copy of `repository_configs`, so a label that is not a trigger costs no
 * database round trip: a row (or its absence) is kept until a process writes that repository's
 * config — every write NOTIFYs, every process LISTENs and forgets the row — or for `ttlMs` at
 * most, should a notification be missed while the listening connection was down.
 */
export class RepositoryConfigCache {
  private readonly rows = new Map<number, { row: RepositoryConfigRow | undefined; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  async get(db: Database, repositoryId: number): Promise<RepositoryConfigRow | undefined> {
    const now = this.clock.now().getTime();
    const hit = this.rows.get(repositoryId);
    if (hit && hit.until > now) return hit.row;
    const row = await getCachedRepositoryConfig(db, repositoryId);
    setNewest(this.rows, repositoryId, { row, until: now + this.ttlMs }, this.maxEntries);
    return row;
  }

  forget(repositoryId: number): void {
    this.rows.delete(repositoryId);
  }

  /** Forgets what any process rewrites; returns the unlisten. */
  listen(handle: Pick<DatabaseHandle, "listen">): Promise<() => Promise<void>> {
    return handle.listen(REPOSITORY_CONFIG_CHANNEL, (payload) => {
      const id = Number(payload);
      if (Number.isSafeInteger(id)) this.forget(id);
      else this.rows.clear();
    });
  }

  get size(): number {
    return this.rows.size;
  }
}
