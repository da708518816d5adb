import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/clock.js";
import { getInstallation } from "../../../src/db/installations.js";
import { InstallationChecks } from "../../../src/github/intake/installation-checks.js";
import { testDrivers, useTestDatabase } from "../../support/databases.js";
import { T0 } from "../../support/factories.js";

describe.each(testDrivers)("a trigger's installation check (%s)", (driver) => {
  const database = useTestDatabase(driver);

  it("records an installation once per period, at once when its account changed, and again once the period passed", async () => {
    const clock = new ManualClock(T0);
    const checks = new InstallationChecks(clock, 60_000);
    const { db } = database;
    const acme = { id: 9, accountLogin: "acme", accountType: "Organization" };
    await checks.record(db, acme, clock.now());
    expect(await getInstallation(db, 9)).toMatchObject({ accountLogin: "acme", deletedAt: null });
    // Deleted meanwhile (as another process would): within the period, this process does not look.
    await db.execute(sql`update installations set deleted_at = now() where id = 9`);
    clock.advance(30_000);
    await checks.record(db, acme, clock.now());
    expect((await getInstallation(db, 9))?.deletedAt).not.toBeNull();
    // The period passed: the deletion is cleared (the installation is back).
    clock.advance(31_000);
    await checks.record(db, acme, clock.now());
    expect((await getInstallation(db, 9))?.deletedAt).toBeNull();
    // A renamed account is refreshed at once.
    await checks.record(db, { ...acme, accountLogin: "acme-inc" }, clock.now());
    expect(await getInstallation(db, 9)).toMatchObject({ accountLogin: "acme-inc" });
  });
});
