import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { queryRows } from "../../src/db/client.js";
import { getInstallation, markInstallationDeleted, recordInstallation } from "../../src/db/installations.js";
import { installations } from "../../src/db/schema.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";

const later = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe.each(testDrivers)("recording an installation (%s)", (driver) => {
  const database = useTestDatabase(driver);
  /** The row's version: a write, even of the same values, makes a new one. */
  const version = async () =>
    (await queryRows<{ v: string }>(database.db, sql`select xmin::text as v from installations where id = 5`))[0]?.v;

  it("writes a new or changed installation, and only reads one recorded as it is (no row lock per trigger)", async () => {
    const { db } = database;
    expect(
      await recordInstallation(db, { id: 5, accountLogin: "acme", accountType: "Organization" }, T0),
    ).toMatchObject({ id: 5, accountLogin: "acme", accountType: "Organization", updatedAt: T0, deletedAt: null });
    const first = await version();
    // Every later trigger of the installation: nothing is written.
    const same = await recordInstallation(db, { id: 5, accountLogin: "acme", accountType: "Organization" }, later(1));
    expect(same.updatedAt).toEqual(T0);
    expect(await version()).toBe(first);
    // The organisation was renamed: the account is refreshed.
    const renamed = await recordInstallation(
      db,
      { id: 5, accountLogin: "acme-inc", accountType: "Organization" },
      later(2),
    );
    expect(renamed).toMatchObject({ accountLogin: "acme-inc", updatedAt: later(2) });
    // Deleted, then seen again (reinstalled): the deletion is cleared.
    await markInstallationDeleted(db, 5, later(3));
    const back = await recordInstallation(
      db,
      { id: 5, accountLogin: "acme-inc", accountType: "Organization" },
      later(4),
    );
    expect(back).toMatchObject({ deletedAt: null, updatedAt: later(4), createdAt: T0 });
  });

  it("an installation read by id has every column as drizzle's own select gives it", async () => {
    const { db } = database;
    await recordInstallation(db, { id: 5, accountLogin: "acme ✓", accountType: "Organization" }, T0);
    await db
      .update(installations)
      .set({ suspendedAt: later(1), deletedAt: later(2), runningCount: 3, runningByType: { implement: 2, review: 1 } })
      .where(eq(installations.id, 5));
    const [drizzles] = await db.select().from(installations).where(eq(installations.id, 5));
    expect(Object.values(drizzles ?? {}).every((value) => value !== null)).toBe(true);
    expect(await getInstallation(db, 5)).toEqual(drizzles);
    expect(await getInstallation(db, 6)).toBeUndefined();
  });
});
