import type { Server } from "node:http";
import pino from "pino";
import { createIntake } from "../../src/app.js";
import { ManualClock, systemClock } from "../../src/clock.js";
import { loadEnv } from "../../src/config/env.js";
import type { DatabaseHandle } from "../../src/db/client.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import type { JobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import type { AdminDeps } from "../../src/web/api/jobs-api.js";
import { AdminAuth } from "../../src/web/auth.js";
import type { SlowDownPolicy } from "../../src/web/failure-limiter.js";
import { closeServer, createHttpServer, listen } from "../../src/web/http-server.js";
import { JobStream } from "../../src/web/job-stream.js";
import { webHandlers } from "../../src/web/web-handlers.js";
import { T0 } from "./factories.js";
import { makeProbot, TEST_JOB_TYPES, WEBHOOK_SECRET } from "./github-harness.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * The web process's handlers on a real HTTP server on loopback, over a test
 * database. `receiveWebhook` null means setup mode.
 */
export async function startTestWeb(
  handle: DatabaseHandle,
  options: {
    adminToken?: string | null;
    env?: Record<string, string>;
    receiveWebhook?: Parameters<typeof webHandlers>[0]["receiveWebhook"];
    services?: JobServices | null;
    clock?: ManualClock;
    unsandboxed?: string[];
    worker?: () => unknown;
    slowDown?: SlowDownPolicy;
    /** Where the doors' log lines go (default: nowhere). */
    log?: pino.Logger;
    /** Setup mode: what saving a registered App does. */
    register?: Parameters<typeof webHandlers>[0]["register"];
    /** Collaborator permissions for people signed in with GitHub. */
    permissions?: AdminDeps["permissions"];
  } = {},
) {
  const log = options.log ?? pino({ level: "silent" });
  const after = new AfterResponseTasks(log);
  const stream = new JobStream();
  await stream.start(handle);
  const adminToken = options.adminToken === null ? undefined : (options.adminToken ?? ADMIN_TOKEN);
  const clock = options.clock ?? systemClock;
  const admin: AdminDeps = {
    db: handle.db,
    clock,
    auth: new AdminAuth({
      adminToken,
      clock,
      secureCookies: false,
      slowDown: options.slowDown,
      signInKey: options.env?.GITHUB_CLIENT_SECRET,
    }),
    permissions: options.permissions ?? null,
    stream,
    services: options.services ?? null,
    after,
    unsandboxed: new Set(options.unsandboxed ?? []),
  };
  const env = loadEnv({ ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}), ...options.env });
  const server: Server = createHttpServer({
    log,
    handlers: webHandlers({
      env,
      receiveWebhook: options.receiveWebhook ?? null,
      port: 0,
      admin,
      worker: options.worker,
      webhookSecret: WEBHOOK_SECRET,
      log,
      register: options.register,
    }),
  });
  const port = await listen(server, 0, "127.0.0.1");
  return {
    base: `http://127.0.0.1:${port}`,
    admin,
    after,
    stream,
    async close() {
      await stream.stop();
      await closeServer(server);
      await after.idle();
    },
  };
}

/**
 * labelrun's intake on a test database, with
 * follow-up work (dispatch, comments) dropped: for tests of what the door does.
 */
export function intakeFor(handle: DatabaseHandle, options: { deadlineMs?: number; log?: pino.Logger } = {}) {
  const log = options.log ?? pino({ level: "silent" });
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
  return createIntake(deps, { deadlineMs: options.deadlineMs });
}
