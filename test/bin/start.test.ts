import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countMigrations } from "../../src/db/migrate.js";
import { httpRequest } from "../support/http.js";
import { spawnBin } from "../support/spawn-app.js";

describe("npm start (src/bin/start.ts)", () => {
  it("comes up on embedded PGlite without credentials, answers health checks, explains setup and stops cleanly", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "labelrun-start-"));
    const app = spawnBin("start", { PORT: "0", HOST: "127.0.0.1", LABELRUN_DATA_DIR: dataDir });
    try {
      const listening = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
      const base = `http://127.0.0.1:${listening.port}`;
      expect(await httpRequest(`${base}/healthz`)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      expect(JSON.parse((await httpRequest(`${base}/readyz`)).body)).toEqual({
        status: "ready",
        migrations: countMigrations(),
      });
      const setup = await httpRequest(`${base}/`);
      expect(setup.status).toBe(200);
      expect(setup.body).toContain("setup mode");
      expect(setup.body).toContain("APP_ID");
      expect(app.lines.some((l) => l.level === 40 && String(l.msg).includes("missing APP_ID"))).toBe(true);
      expect(existsSync(join(dataDir, "labelrun.lock"))).toBe(true);

      // A second process on the same folder would lose its writes: it is refused.
      const second = spawnBin("start", { PORT: "0", HOST: "127.0.0.1", LABELRUN_DATA_DIR: dataDir });
      expect(await second.stop("SIGCONT")).toBe(1);
      expect(second.output()).toMatch(/in use by process \d+.*set DATABASE_URL/);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    expect(existsSync(join(dataDir, "labelrun.lock"))).toBe(false);
    expect(app.output()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("on SIGTERM, /readyz answers 503 draining for the drain window while the server still serves, then it stops", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "labelrun-drain-"));
    const app = spawnBin("start", {
      PORT: "0",
      HOST: "127.0.0.1",
      LABELRUN_DATA_DIR: dataDir,
      SHUTDOWN_DRAIN_SECONDS: "1.5",
    });
    const listening = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
    const base = `http://127.0.0.1:${listening.port}`;
    expect((await httpRequest(`${base}/readyz`)).status).toBe(200);
    const stopped = Date.now();
    const exited = app.stop("SIGTERM");
    await app.waitForLine((l) => String(l.msg).startsWith("draining"));
    const during = await httpRequest(`${base}/readyz`);
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ status: "draining" });
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
    expect(await exited).toBe(0);
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(1_400);
  });

  it("with a database that does not answer, exits with one clear line instead of hanging", async () => {
    const app = spawnBin("start", { PORT: "0", DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    expect(await app.stop("SIGCONT")).toBe(1);
    expect(app.output()).toMatch(/cannot open the database/);
  });

  it("with an invalid environment, lists every problem and exits 1", async () => {
    const app = spawnBin("start", { PORT: "eighty", DATABASE_URL: "nope" });
    expect(await app.stop("SIGCONT")).toBe(1);
    expect(app.output()).toMatch(/PORT/);
    expect(app.output()).toMatch(/DATABASE_URL/);
  });
});
