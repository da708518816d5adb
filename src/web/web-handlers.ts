import { fileURLToPath } from "node:url";
import type { Env } from "../config/env.js";
import type { Database } from "../db/client.js";
import { countMigrations } from "../db/migrate.js";
import { healthz, readyz } from "./health.js";
import type { Handler } from "./http-server.js";
import { setupPage } from "./setup-page.js";
import { webhookRoute } from "./webhook-route.js";

export const MANIFEST_PATH = fileURLToPath(new URL("../../app.yml", import.meta.url));

export interface WebHandlerOptions {
  env: Env;
  db: Database;
  /** Probot's webhook middleware, or null in setup mode (no App credentials). */
  webhookMiddleware: Parameters<typeof webhookRoute>[0] | null;
  /** The port actually bound, for links in setup mode. */
  port: number;
}

/** The routes of the web process, in the order they are tried. */
export function webHandlers(options: WebHandlerOptions): Handler[] {
  const handlers: Handler[] = [healthz, readyz({ db: options.db, expectedMigrations: countMigrations() })];
  if (options.webhookMiddleware) {
    handlers.push(webhookRoute(options.webhookMiddleware));
  } else {
    handlers.push(
      setupPage({
        missing: options.env.githubMissing,
        baseUrl: options.env.PUBLIC_URL ?? `http://localhost:${options.port}`,
        manifestPath: MANIFEST_PATH,
        githubHost: options.env.GHE_HOST,
      }),
    );
  }
  return handlers;
}
