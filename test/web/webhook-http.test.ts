import { createHmac } from "node:crypto";
import pino from "pino";
import { createNodeMiddleware } from "probot";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { loadEnv } from "../../src/config/env.js";
import type { DatabaseHandle } from "../../src/db/client.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { findJobsForTarget } from "../../src/jobs/find-jobs.js";
import { registry } from "../../src/metrics.js";
import { AdminAuth } from "../../src/web/auth.js";
import { closeServer, createHttpServer, listen } from "../../src/web/http-server.js";
import { JobStream } from "../../src/web/job-stream.js";
import { webHandlers } from "../../src/web/web-handlers.js";
import { WEBHOOK_PATH } from "../../src/web/webhook-route.js";
import { labeled, REPO } from "../fixtures/webhooks.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { T0 } from "../support/factories.js";
import { makeProbot, TEST_JOB_TYPES, WEBHOOK_SECRET } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`signed webhook deliveries over HTTP (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  let base: string;
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { webhookMiddleware: await webhookMiddlewareFor(database) });
    base = web.base;
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
  });

  const post = (body: string, signature: string, id = "http-delivery-1") =>
    httpRequest(`${base}${WEBHOOK_PATH}`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": id,
        "x-hub-signature-256": signature,
      },
    });
  const sign = (body: string) => `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;

  it("a signed trigger is answered 2xx with the job already committed", async () => {
    const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    const response = await post(body, sign(body));
    expect(response.status).toBeLessThan(300);
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toMatchObject([
      { status: "pending", deliveryId: "http-delivery-1" },
    ]);
    expect(await registry.getSingleMetricAsString("labelrun_webhook_deliveries_total")).toContain(
      'labelrun_webhook_deliveries_total{event="issues.labeled",outcome="handled"} 1',
    );
  });

  it("a delivery with a wrong signature is refused and records nothing", async () => {
    const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    const response = await post(body, sign(`${body} `));
    expect(response.status).toBe(400);
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toEqual([]);
  });

  it("with the database down, a trigger is answered 5xx so GitHub records a failed delivery to redeliver", async () => {
    const down = await openTestDatabase(driver);
    await down.close();
    const middleware = await webhookMiddlewareFor(down);
    const broken = await startTestWeb(down, { webhookMiddleware: middleware }).catch(() => null);
    // A database that is down cannot LISTEN either: serve the same handlers without the stream.
    const server = broken ?? (await startWithoutStream(down, middleware));
    const port = Number(new URL(server.base).port);
    try {
      const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
      const response = await httpRequest(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "while-down",
          "x-hub-signature-256": sign(body),
        },
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect((await httpRequest(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });

  it("garbage JSON is refused without crashing the server", async () => {
    const response = await post("{not json", sign("{not json"));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
  });
});

async function startWithoutStream(
  handle: DatabaseHandle,
  middleware: Parameters<typeof webHandlers>[0]["webhookMiddleware"],
) {
  const log = pino({ level: "silent" });
  const clock = new ManualClock(T0);
  const server = createHttpServer({
    log,
    handlers: webHandlers({
      env: loadEnv({}),
      webhookMiddleware: middleware,
      port: 0,
      admin: {
        db: handle.db,
        clock,
        auth: new AdminAuth({ clock, secureCookies: false }),
        stream: new JobStream(),
        services: null,
        after: new AfterResponseTasks(log),
      },
    }),
  });
  const port = await listen(server, 0, "127.0.0.1");
  return { base: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** Probot's webhook middleware over labelrun's app; follow-up work (dispatch, comment) is dropped. */
async function webhookMiddlewareFor(handle: DatabaseHandle) {
  const log = pino({ level: "silent" });
  const probot = makeProbot(log);
  const deps = buildIntakeDeps({
    db: handle.db,
    github: octokitPort((id) => probot.auth(id) as never),
    jobTypes: TEST_JOB_TYPES,
    clock: new ManualClock(T0),
    log,
    after: { run: () => {} },
    writerId: "http-test",
  });
  return createNodeMiddleware(createApp(deps), { probot, webhooksPath: WEBHOOK_PATH });
}
