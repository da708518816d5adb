import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { type Env, githubApiBaseUrl, githubWebOrigin } from "../config/env.js";
import { countMigrations } from "../db/migrate.js";
import type { DeliveriesInFlight } from "../github/intake/after-response.js";
import { convertManifestCode, type RegisteredApp } from "../setup/convert-manifest-code.js";
import { type AdminDeps, jobsApi } from "./api/jobs-api.js";
import { cspReportRoute } from "./csp-report.js";
import { dashboardRoutes } from "./dashboard/dashboard-routes.js";
import { githubSignIn } from "./github-sign-in.js";
import { healthz, readyz } from "./health.js";
import { type Handler, pathOf } from "./http-server.js";
import { metricsRoute } from "./metrics-route.js";
import { setupPage } from "./setup-page.js";
import { webhookRoute } from "./webhook-route.js";

export const MANIFEST_PATH = fileURLToPath(new URL("../../app.yml", import.meta.url));

export interface WebHandlerOptions {
  env: Env;
  /** The intake webhook deliveries go to, or null in setup mode (no App credentials). */
  receiveWebhook: Parameters<typeof webhookRoute>[0] | null;
  /** Counts deliveries being answered, for the follow-up queues to give way to. */
  deliveriesInFlight?: DeliveriesInFlight;
  /** The port actually bound, for links in setup mode. */
  port: number;
  admin: AdminDeps;
  /** The secret deliveries are signed with (default: the App's, from `env`). */
  webhookSecret?: string;
  /** Logs what the doors reject (one line each, never a body). */
  log: Logger;
  /** In a process that runs a worker: what it runs and why it refuses the rest (shown by `/readyz`). */
  worker?: () => unknown;
  /** True once the process is stopping (`/readyz` says so). */
  draining?: () => boolean;
  /** Setup mode: saves a registered App and starts serving webhooks with it (default: refuses). */
  register?: (app: RegisteredApp) => Promise<void>;
}

/** The routes of the web process, in the order they are tried. */
export function webHandlers(options: WebHandlerOptions): Handler[] {
  const { env, admin } = options;
  const handlers: Handler[] = [];
  if (options.receiveWebhook) {
    // First: deliveries are most of the traffic.
    const secret = options.webhookSecret ?? env.github?.webhookSecret;
    if (!secret) throw new Error("a webhook route needs the webhook secret");
    handlers.push(
      webhookRoute(options.receiveWebhook, { secret, log: options.log, inFlight: options.deliveriesInFlight }),
    );
  }
  handlers.push(
    healthz,
    cspReportRoute(options.log),
    readyz({ db: admin.db, expectedMigrations: countMigrations(), worker: options.worker, draining: options.draining }),
    metricsRoute({ db: admin.db, auth: admin.auth, public: env.METRICS_PUBLIC, clock: admin.clock }),
    jobsApi(admin),
  );
  if (env.github && env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET) {
    handlers.push(
      githubSignIn({
        clientId: env.GITHUB_CLIENT_ID,
        clientSecret: env.GITHUB_CLIENT_SECRET,
        apiBaseUrl: githubApiBaseUrl(env),
        baseUrl: env.PUBLIC_URL ?? `http://localhost:${options.port}`,
        auth: admin.auth,
        log: options.log,
      }),
    );
  }
  handlers.push(dashboardRoutes(admin));
  if (options.receiveWebhook) {
    // The home page is the board once the app is set up.
    handlers.push((req, res) => {
      if (req.method !== "GET" || pathOf(req) !== "/") return false;
      res.writeHead(302, { location: "/jobs" });
      res.end();
      return true;
    });
  } else {
    const githubOrigin = githubWebOrigin(env);
    handlers.push(
      setupPage({
        missing: env.githubMissing,
        baseUrl: env.PUBLIC_URL ?? `http://localhost:${options.port}`,
        manifestPath: MANIFEST_PATH,
        githubOrigin,
        organisation: env.GH_ORG,
        auth: admin.auth,
        clock: admin.clock,
        log: options.log,
        convert: (code) => convertManifestCode({ code, apiBaseUrl: githubApiBaseUrl(env), githubOrigin }),
        register:
          options.register ??
          (async () => {
            throw new Error("this process cannot save a registration");
          }),
      }),
    );
  }
  return handlers;
}
