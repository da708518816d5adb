import type { Logger } from "pino";
import { createNodeMiddleware } from "probot";
import SmeeClient from "smee-client";
import { createApp } from "../app.js";
import { systemClock } from "../clock.js";
import { AfterResponseTasks } from "../github/intake/after-response.js";
import { buildIntakeDeps } from "../github/intake/build-intake-deps.js";
import { AdminAuth } from "../web/auth.js";
import { closeServer, createHttpServer, listen } from "../web/http-server.js";
import { JobStream } from "../web/job-stream.js";
import { databaseSessions } from "../web/session-store.js";
import { webHandlers } from "../web/web-handlers.js";
import { WEBHOOK_PATH } from "../web/webhook-route.js";
import type { ProcessParts } from "./github-services.js";

/** Builds the Probot app (when credentials exist) and starts the HTTP server. Returns its stop. */
export async function startWeb(
  params: ProcessParts & { worker?: () => unknown; drainSeconds: number },
): Promise<() => Promise<void>> {
  const { env, log, database } = params;
  const after = new AfterResponseTasks(log);
  // Comment commands (anyone on GitHub can write one) have their own queue: they never delay dispatch.
  const commands = new AfterResponseTasks(log, 2);
  let webhookMiddleware = null;
  if (params.gh) {
    const { probot, github, services, permissions } = params.gh;
    const deps = buildIntakeDeps({
      db: database.db,
      github,
      jobTypes: params.jobTypes,
      clock: systemClock,
      log,
      after,
      commands,
      writerId: params.workerId,
      publicUrl: env.PUBLIC_URL,
      services,
      permissions,
    });
    webhookMiddleware = await createNodeMiddleware(createApp(deps), { probot, webhooksPath: WEBHOOK_PATH });
  } else {
    log.warn(
      { missing: env.githubMissing },
      `no GitHub App configured (missing ${env.githubMissing.join(", ")}): webhooks are off. Open http://localhost:${env.PORT}/ to register the app, or see README.md "Register and install the app".`,
    );
  }
  const stream = new JobStream();
  await stream.start(database);
  const auth = new AdminAuth({
    sessions: databaseSessions(database.db),
    adminToken: env.ADMIN_TOKEN,
    clock: systemClock,
    secureCookies: env.PUBLIC_URL?.startsWith("https://") ?? false,
  });
  if (!env.ADMIN_TOKEN) log.warn("ADMIN_TOKEN is unset: the dashboard, API and metrics answer on loopback only");
  const unsandboxed = new Set(
    [...params.jobTypes.byName.values()].filter((type) => type.sandbox === "none").map((type) => type.name),
  );
  const admin = {
    db: database.db,
    clock: systemClock,
    auth,
    stream,
    services: params.gh?.services ?? null,
    after,
    unsandboxed,
    githubHost: env.GHE_HOST ?? "github.com",
  };
  let draining = false;
  const server = createHttpServer({
    log,
    handlers: webHandlers({
      env,
      webhookMiddleware,
      port: env.PORT,
      admin,
      worker: params.worker,
      log,
      draining: () => draining,
    }),
  });
  const port = await listen(server, env.PORT, env.HOST);
  log.info({ port, host: env.HOST }, `listening on http://${env.HOST}:${port} (webhooks at ${WEBHOOK_PATH})`);
  const proxy =
    webhookMiddleware && env.WEBHOOK_PROXY_URL ? await forwardFromProxy(env.WEBHOOK_PROXY_URL, port, log) : null;
  return async () => {
    await proxy?.stop();
    // Draining: /readyz says 503 while everything is still served, then connections close.
    draining = true;
    if (params.drainSeconds > 0) {
      log.info({ seconds: params.drainSeconds }, "draining: /readyz answers 503 before the server closes");
      await new Promise<void>((resolve) => systemClock.setTimeout(resolve, params.drainSeconds * 1000));
    }
    await stream.stop();
    await closeServer(server);
    await after.idle();
    await commands.idle();
    await params.gh?.idle();
  };
}

/**
 * WEBHOOK_PROXY_URL: deliveries sent to a smee-style channel are forwarded to
 * this process's own webhook endpoint (as `probot run` does in development),
 * where they pass the same signature check as GitHub's.
 */
async function forwardFromProxy(source: string, port: number, log: Logger): Promise<{ stop(): Promise<void> }> {
  const proxyLog = log.child({ proxy: source });
  const client = new SmeeClient({
    source,
    target: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    logger: {
      info: (...args: unknown[]) => proxyLog.debug(args.map(String).join(" ")),
      error: (...args: unknown[]) => proxyLog.warn(args.map(String).join(" ")),
    } as never,
  });
  await client.start();
  proxyLog.info("forwarding webhook deliveries from WEBHOOK_PROXY_URL");
  return { stop: () => client.stop() };
}
