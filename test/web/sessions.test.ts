import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { AdminAuth, SESSION_COOKIE } from "../../src/web/auth.js";
import { databaseSessions } from "../../src/web/session-store.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";

const driver = testDrivers[0] ?? "pglite";
const TOKEN = "admin-token-0123456789abcdef";

/** Just what AdminAuth reads of a request. */
const request = (cookie?: string) =>
  ({
    headers: { host: "127.0.0.1", ...(cookie ? { cookie } : {}) },
    socket: { remoteAddress: "198.51.100.7" },
  }) as unknown as IncomingMessage;

describe(`sessions that can be revoked (${driver})`, () => {
  const database = useTestDatabase(driver);
  const processes = (clock: ManualClock, adminToken = TOKEN) => {
    const sessions = databaseSessions(database.db);
    return [1, 2].map(() => new AdminAuth({ adminToken, clock, secureCookies: false, sessions }));
  };
  const signIn = async (auth: AdminAuth) => {
    const result = await auth.login(request(), TOKEN);
    if (!result.ok) throw new Error("sign-in failed");
    return result.cookie.split(";")[0] as string;
  };

  it("signing out in one web process ends the session in every process, even for a client that keeps the cookie", async () => {
    const clock = new ManualClock(T0);
    const [a, b] = processes(clock) as [AdminAuth, AdminAuth];
    const cookie = await signIn(a);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}$`));
    expect(await b.check(request(cookie))).toMatchObject({ ok: true, via: "session" });
    await a.signOut(request(cookie));
    expect(await a.check(request(cookie))).toMatchObject({ ok: false, status: 401 });
    expect(await b.check(request(cookie))).toMatchObject({ ok: false, status: 401 });
  });

  it("the cookie is a random secret the database keeps only as a hash, with its own CSRF token", async () => {
    const clock = new ManualClock(T0);
    const [a] = processes(clock) as [AdminAuth];
    const cookie = await signIn(a);
    const secret = cookie.split("=")[1] as string;
    const rows = await database.db.query.adminSessions.findMany();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    const access = await a.check(request(cookie));
    expect(access.ok && access.csrf).toBe(rows[0]?.csrf);
  });

  it("changing ADMIN_TOKEN ends every session opened with the old one; sessions also expire", async () => {
    const clock = new ManualClock(T0);
    const [old] = processes(clock) as [AdminAuth];
    const cookie = await signIn(old);
    const [rotated] = processes(clock, "a-new-admin-token-0123456789") as [AdminAuth];
    expect(await rotated.check(request(cookie))).toMatchObject({ ok: false });
    expect(await old.check(request(cookie))).toMatchObject({ ok: true });
    clock.advance(13 * 3600_000);
    expect(await old.check(request(cookie))).toMatchObject({ ok: false });
  });

  it("a forged or malformed cookie is refused without a database error", async () => {
    const [a] = processes(new ManualClock(T0)) as [AdminAuth];
    for (const forged of ["1.2.forged", "x".repeat(43), "'; drop table jobs; --", "\u0000".repeat(43), "%ZZ"])
      expect(await a.check(request(`${SESSION_COOKIE}=${forged}`))).toMatchObject({ ok: false, status: 401 });
  });
});
