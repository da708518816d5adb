import type { Logger } from "pino";
import SmeeClient from "smee-client";
import { createIntake } from "../app.js";
import { systemClock } from "../clock.js";
import { type Env, loadEnv } from "../config/env.js";
import { withDeadline } from "../deadline.js";
import { AfterResponseTasks, DeliveriesInFlight } from "../github/intake/after-response.js";
import { buildIntakeDeps } from "../github/intake/build-intake-deps.js";
import { RepositoryConfigCache } from "../github/repository-config-cache.js";
import { saveAppCredentials } from "../setup/save-app-credentials.js";
import { AdminAuth } from "../web/auth.js";
import type { Handler } from "../web/http-server.js";
import { closeServer, createHttpServer, listen } from "../web/http-server.js";
import { JobStream } from "../web/job-stream.js";
import { databaseSessions } from "../web/session-store.js";
import { webHandlers } from "../web/web-handlers.js";
import { WEBHOOK_PATH } from "../web/webhook-route.js";
import { buildGitHubServices, type GitHubServices, type ProcessParts } from "./github-services.js";

/** How long a stopping web process waits for its follow-up work (dispatches, comment edits). */
export const FOLLOW_UP_GRACE_MS = 10_000;

/**
 * Builds the Probot app (when credentials exist) and starts the HTTP server. Returns its stop.
 * In setup mode the setup page registers the App; its credentials are saved to `.env` and the
 * routes are rebuilt with them, so webhooks are served at once; `onRegistered` starts the rest.
 */
export async function startWeb(
  params: ProcessParts & {
    worker?: () => unknown;
    drainSeconds: number;
    onRegistered?: (env: Env, gh: GitHubServices) => Promise<void>;
  },
): Promise<() => Promise<void>> {
  const { log, database } = params;
  let env = params.env;
  let gh = params.gh;
  // Follow-up work gives way to answering deliveries (one task at a time while any is in flight).
  const deliveriesInFlight = new DeliveriesInFlight();
  const after = new AfterResponseTasks(log, 4, 2000, deliveriesInFlight);
  // Comment commands (anyone on GitHub can write one) have their own queue: they never delay dispatch.
  const commands = new AfterResponseTasks(log, 2, 2000, deliveriesInFlight);
  const stream = new JobStream();
  await stream.start(database);
  // Non-trigger labels are answered from this copy; every process's rewrite of a config NOTIFYs.
  const configCache = new RepositoryConfigCache(systemClock);
  const unlistenConfigs = await configCache.listen(database);
  const auth = new AdminAuth({
    sessions: databaseSessions(database.db),
    adminToken: env.ADMIN_TOKEN,
    clock: systemClock,
    secureCookies: env.PUBLIC_URL?.startsWith("https://") ?? false,
    signInKey: signInKeyOf(env),
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
    services: gh?.services ?? null,
    after,
    unsandboxed,
    githubHost: env.GHE_HOST ?? "github.com",
    permissions: gh?.permissions ?? null,
    quotas: params.jobTypes.quotas,
    limits: { installationLimit: env.INSTALLATION_CONCURRENCY, jobTypes: params.jobTypes },
  };
  let draining = false;
  let port = env.PORT;
  // The server keeps this one array; a registration replaces its contents.
  const handlers: Handler[] = [];
  const route = async () => {
    const receiveWebhook = gh ? intakeFor(gh, env, params, { after, commands, configCache }) : null;
    admin.services = gh?.services ?? null;
    admin.permissions = gh?.permissions ?? null;
    const key = signInKeyOf(env);
    if (key) auth.enableSignIn(key);
    const next = webHandlers({
      env,
      receiveWebhook,
      deliveriesInFlight,
      port,
      admin,
      worker: params.worker,
      log,
      draining: () => draining,
      register: async (app) => {
        const values = saveAppCredentials({ dir: process.cwd(), app });
        const registered = loadEnv({ ...process.env, ...values });
        const services = buildGitHubServices({
          env: registered,
          log,
          db: database.db,
          jobTypes: params.jobTypes,
          writerId: params.workerId,
        });
        if (!services) throw new Error(`the saved credentials are incomplete: ${registered.githubMissing.join(", ")}`);
        env = registered;
        gh = services;
        await route();
        await params.onRegistered?.(registered, services);
      },
    });
    handlers.splice(0, handlers.length, ...next);
  };
  if (!gh) {
    log.warn(
      { missing: env.githubMissing },
      `no GitHub App configured (missing ${env.githubMissing.join(", ")}): webhooks are off. Open http://localhost:${env.PORT}/ to register the app, or see README.md "Register and install the app".`,
    );
  }
  await route();
  const server = createHttpServer({ log, handlers });
  port = await listen(server, env.PORT, env.HOST);
  // Links the setup page gives GitHub name the port actually bound.
  if (!gh) await route();
  log.info({ port, host: env.HOST }, `listening on http://${env.HOST}:${port} (webhooks at ${WEBHOOK_PATH})`);
  const proxy = gh && env.WEBHOOK_PROXY_URL ? await forwardFromProxy(env.WEBHOOK_PROXY_URL, port, log) : null;
  return async () => {
    await proxy?.stop();
    // Draining: /readyz says 503 while everything is still served, then connections close.
    draining = true;
    if (params.drainSeconds > 0) {
      log.info({ seconds: params.drainSeconds }, "draining: /readyz answers 503 before the server closes");
      await new Promise<void>((resolve) => systemClock.setTimeout(resolve, params.drainSeconds * 1000));
    }
    await stream.stop();
    await unlistenConfigs();
    await closeServer(server);
    // Follow-up work finishes, for a while: past that, what is left (a burst's dispatches, paced
    // comment edits) is marked in the database for the maintenance sweep of whichever process runs.
    const finished = Promise.all([after.idle(), commands.idle(), gh?.idle()]);
    await withDeadline(finished, FOLLOW_UP_GRACE_MS, () => new Error("follow-up work still running")).catch(() =>
      log.warn(
        { waiting: after.backlog + commands.backlog, seconds: FOLLOW_UP_GRACE_MS / 1000 },
        "stopping with follow-up work unfinished: the maintenance sweep takes it up",
      ),
    );
  };
}

/** "Sign in with GitHub" needs the App's OAuth client; people's sessions are bound to its secret. */
function signInKeyOf(env: Env): string | undefined {
  return env.github && env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET ? env.GITHUB_CLIENT_SECRET : undefined;
}

/** labelrun's intake with this process's queues and config cache. */
function intakeFor(
  gh: GitHubServices,
  env: Env,
  params: ProcessParts,
  queues: { after: AfterResponseTasks; commands: AfterResponseTasks; configCache: RepositoryConfigCache },
) {
  const { github, services, permissions } = gh;
  const deps = buildIntakeDeps({
    db: params.database.db,
    github,
    jobTypes: params.jobTypes,
    clock: systemClock,
    log: params.log,
    after: queues.after,
    commands: queues.commands,
    writerId: params.workerId,
    publicUrl: env.PUBLIC_URL,
    services,
    permissions,
    configCache: queues.configCache,
  });
  return createIntake(deps);
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
