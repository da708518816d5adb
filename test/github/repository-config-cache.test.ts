import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import { repositoryConfigs } from "../../src/db/schema.js";
import type { GitHubPort } from "../../src/github/port.js";
import { RepositoryConfigCache } from "../../src/github/repository-config-cache.js";
import { REPOSITORY_CONFIG_CHANNEL, refreshRepositoryConfig } from "../../src/github/repository-config-store.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";
import { waitUntil } from "../support/processes.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: [node, a.mjs]
    label: "agent:implement"
`);
const ref = { installationId: 1, owner: "o", repo: "r", repositoryId: 42, repositoryFullName: "o/r" };

describe.each(testDrivers)("the repository config cache (%s)", (driver) => {
  const database = useTestDatabase(driver);
  const github = (label: string) =>
    ({ getRepoConfig: async () => ({ triggers: { [label]: "implement" } }) }) as unknown as GitHubPort;

  it("answers from memory until any process rewrites the config (NOTIFY), or the TTL passes", async () => {
    const clock = new ManualClock(T0);
    const mine = new RepositoryConfigCache(clock);
    const unlisten = await mine.listen(database);
    try {
      await refreshRepositoryConfig({ db: database.db, github: github("go"), jobTypes: JOB_TYPES }, ref, T0);
      expect((await mine.get(database.db, 42))?.triggers).toEqual({ go: "implement" });
      // A change that did not go through a rewrite is not seen: the answer came from memory.
      await database.db.update(repositoryConfigs).set({ enabled: false }).where(eq(repositoryConfigs.repositoryId, 42));
      expect((await mine.get(database.db, 42))?.enabled).toBe(true);
      // Another process rewrites it (no reference to this cache): the NOTIFY makes this one forget.
      await refreshRepositoryConfig({ db: database.db, github: github("run"), jobTypes: JOB_TYPES }, ref, T0);
      await waitUntil(
        async () => (await mine.get(database.db, 42))?.triggers.run === "implement",
        "the rewrite to be seen",
        5_000,
      );
      // The TTL bounds a missed notification.
      await database.db.update(repositoryConfigs).set({ enabled: false }).where(eq(repositoryConfigs.repositoryId, 42));
      expect((await mine.get(database.db, 42))?.enabled).toBe(true);
      clock.advance(61_000);
      expect((await mine.get(database.db, 42))?.enabled).toBe(false);
      // A repository with no config row is remembered as such too, and garbage on the channel forgets everything.
      expect(await mine.get(database.db, 7)).toBeUndefined();
      expect(mine.size).toBe(2);
      await database.db.execute(sql`select pg_notify(${REPOSITORY_CONFIG_CHANNEL}, ${"<script>1e999"})`);
      await waitUntil(() => mine.size === 0, "the cache to be cleared", 5_000);
    } finally {
      await unlisten();
    }
  });
});
