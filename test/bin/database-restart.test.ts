import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labeled } from "../fixtures/webhooks.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { httpRequest, postDelivery } from "../support/http.js";
import { privatePostgres } from "../support/private-postgres.js";
import { type RunningProcess, spawnBin } from "../support/spawn-app.js";

const SECRET = "restart-secret";
const server = privatePostgres(54000 + (process.pid % 1000));

describe.runIf(server.available)("the database restarted under a running app", () => {
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  let app: RunningProcess;
  let base: string;
  beforeAll(async () => {
    server.init();
    github = await startFakeGitHub();
    app = spawnBin("start", {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: server.url,
      DATABASE_POOL_SIZE: "4",
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      GITHUB_API_URL: github.url,
      REDELIVER_FAILED_DELIVERIES: "false",
      POLL_INTERVAL_SECONDS: "1",
      MAINTENANCE_INTERVAL_SECONDS: "1",
      LABELRUN_CONFIG: "labelrun.config.yml",
    });
    const listening = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
    base = `http://127.0.0.1:${listening.port}`;
  }, 60_000);
  afterAll(async () => {
    await app?.stop("SIGKILL");
    await github?.close();
    try {
      server.stop();
    } catch {
      // already stopped
    }
  });

  // A refused connection means the app is gone: say what it logged last (seen once under CI load).
  const deliver = (id: string, number: number) =>
    postDelivery(base, {
      event: "issues",
      id,
      payload: labeled({ label: "agent:implement", number }).payload,
      secret: SECRET,
    }).catch((error: unknown) => {
      throw new Error(
        `delivery ${id} failed: ${String(error)}; app exit code ${app.child.exitCode}\n${app.output().slice(-6000)}`,
      );
    });

  it("answers 5xx while the database is away, then reconnects by itself and takes webhooks again", async () => {
    expect((await deliver("before", 1)).status).toBe(200);
    server.stop();
    const during = await deliver("during", 2);
    expect(during.status).toBeGreaterThanOrEqual(500);
    expect((await httpRequest(`${base}/readyz`)).status).toBe(503);
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
    server.start();
    let after = await deliver("after", 3);
    for (let tries = 0; after.status !== 200 && tries < 20; tries++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await deliver(`after-${tries}`, 3);
    }
    expect(after.status).toBe(200);
    expect((await httpRequest(`${base}/readyz`)).status).toBe(200);
    // GitHub redelivers the failed one (same delivery id): it is recorded now.
    expect((await deliver("during", 2)).status).toBe(200);
    // The process never died.
    expect(app.child.exitCode).toBeNull();
  }, 60_000);
});
