import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import YAML from "yaml";
import type { Clock } from "../clock.js";
import { coerceError } from "../errors.js";
import { setNewest } from "../newest-first-map.js";
import { ManifestConversionError, type RegisteredApp } from "../setup/convert-manifest-code.js";
import { type AdminAuth, denied } from "./auth.js";
import { html } from "./dashboard/html.js";
import { page } from "./dashboard/layout.js";
import { type Handler, pathOf } from "./http-server.js";

export const SETUP_DONE_PATH = "/setup/done";
const STATE_MS = 3600_000;
const MAX_STATES = 50;

export interface SetupPageOptions {
  /** What is missing for the GitHub App to work (from `loadEnv`). */
  missing: readonly string[];
  /** Where GitHub should send webhooks and redirect after registration. */
  baseUrl: string;
  /** The app manifest (app.yml). */
  manifestPath: string;
  /** GitHub's web origin (`https://github.com`, or GHE_PROTOCOL://GHE_HOST). */
  githubOrigin: string;
  /** Register under this organisation (GH_ORG) instead of the signed-in account. */
  organisation?: string;
  /** The setup page is the server's: loopback only, or signed in with ADMIN_TOKEN. */
  auth: AdminAuth;
  clock: Clock;
  log: Logger;
  /** Exchanges GitHub's one-hour code for the App's credentials (`convertManifestCode`). */
  convert(code: string): Promise<RegisteredApp>;
  /** Saves the credentials and starts serving webhooks with them (no restart); throws with a reason. */
  register(app: RegisteredApp): Promise<void>;
}

/**
 * Setup mode: `GET /` says what is missing and offers GitHub's manifest flow
 * (a form that registers the App from app.yml). GitHub redirects back to
 * `/setup/done` with a one-hour code, which is exchanged for the App's id,
 * key, webhook secret and OAuth client; they are saved and the process starts
 * serving webhooks at once. The `state` the form carries is random, single-use
 * and checked on the way back, so a link crafted elsewhere cannot make this
 * server adopt someone else's App. Only while the App is not configured (once
 * it is, these routes are gone), only for the server's admin.
 */
export function setupPage(options: SetupPageOptions): Handler {
  const manifest = YAML.parse(readFileSync(options.manifestPath, "utf8")) as Record<string, unknown>;
  const full = {
    ...manifest,
    url: manifest.url ?? options.baseUrl,
    hook_attributes: { url: `${options.baseUrl}/api/github/webhooks` },
    redirect_url: `${options.baseUrl}${SETUP_DONE_PATH}`,
    callback_urls: [`${options.baseUrl}/auth/github/callback`],
  };
  const action = options.organisation
    ? `${options.githubOrigin}/organizations/${encodeURIComponent(options.organisation)}/settings/apps/new`
    : `${options.githubOrigin}/settings/apps/new`;
  const states = new Map<string, number>();
  let registering = false;

  const takeState = (state: string | null): boolean => {
    const now = options.clock.now().getTime();
    for (const [key, expires] of states) if (expires <= now) states.delete(key);
    if (!state || !states.has(state)) return false;
    states.delete(state);
    return true;
  };

  return async (req, res) => {
    const path = pathOf(req);
    if (req.method !== "GET" || !["/", "/setup", SETUP_DONE_PATH].includes(path)) return false;
    const access = await options.auth.check(req);
    if (!access.ok) {
      denied(res, access, true);
      return true;
    }
    const show = (status: number, title: string, body: ReturnType<typeof html>) =>
      page(res, { title, csrf: access.csrf, status, body, formAction: `'self' ${options.githubOrigin}` });

    if (path !== SETUP_DONE_PATH) {
      const state = randomBytes(24).toString("base64url");
      // A page reloaded many times keeps only the newest states.
      setNewest(states, state, options.clock.now().getTime() + STATE_MS, MAX_STATES);
      show(
        200,
        "Setup",
        html`<h2>labelrun is running in setup mode</h2>
<p>The database, health checks and board are up, but no GitHub App is configured, so no webhook can be received.</p>
<p>Missing: ${options.missing.map((m, i) => html`${i ? ", " : ""}<code>${m}</code>`)}.</p>
<h3>Register the GitHub App</h3>
<p>GitHub registers labelrun from its manifest (<code>app.yml</code>: its events and least permissions)${options.organisation ? html` under the organisation <code>${options.organisation}</code>` : ""},
then sends you back here; labelrun saves the App's credentials in <code>.env</code> and starts receiving webhooks.</p>
<form action="${action}?state=${state}" method="post">
<input type="hidden" name="manifest" value="${JSON.stringify(full)}">
<button type="submit">Register labelrun on GitHub</button></form>`,
      );
      return true;
    }

    const query = new URL(req.url ?? "/", "http://localhost").searchParams;
    if (!takeState(query.get("state"))) {
      show(
        400,
        "Setup",
        html`<p>This registration did not start from this server's setup page (or it is over an hour old, or was already used).</p><p><a href="/setup">Start again</a></p>`,
      );
      return true;
    }
    if (registering) {
      show(409, "Setup", html`<p>A registration is already being saved.</p>`);
      return true;
    }
    registering = true;
    try {
      const app = await options.convert(query.get("code") ?? "");
      await options.register(app);
      options.log.info({ appId: app.id, slug: app.slug }, "the GitHub App is registered: webhooks are now served");
      show(
        200,
        "Registered",
        html`<h2>labelrun is registered as <code>${app.slug}</code></h2>
<p>Its App ID, private key (a <code>0600</code> file), webhook secret and OAuth client are saved in <code>.env</code>, and this server now receives webhooks.</p>
<p><a id="install" href="${app.htmlUrl}/installations/new">Install it on your repositories</a>, then add a trigger label to an issue.</p>`,
      );
    } catch (error) {
      const reason = error instanceof ManifestConversionError ? error.message : "saving the credentials failed";
      options.log.error({ err: coerceError(error) }, `the GitHub App registration failed: ${reason}`);
      show(
        502,
        "Setup",
        html`<p>The registration could not be finished: ${reason}.</p><p><a href="/setup">Start again</a></p>`,
      );
    } finally {
      registering = false;
    }
    return true;
  };
}
