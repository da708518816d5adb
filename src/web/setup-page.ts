import { readFileSync } from "node:fs";
import YAML from "yaml";
import { type Handler, pathOf } from "./http-server.js";
import { htmlSecurityHeaders } from "./security-headers.js";

export interface SetupPageOptions {
  /** What is missing for the GitHub App to work (from `loadEnv`). */
  missing: readonly string[];
  /** Where GitHub should send webhooks and redirect after registration. */
  baseUrl: string;
  /** The app manifest (app.yml). */
  manifestPath: string;
  /** GitHub's host (GHE_HOST), its scheme (GHE_PROTOCOL) and an organisation to register under (GH_ORG). */
  githubHost?: string;
  githubProtocol?: "https" | "http";
  organisation?: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Setup mode: without App credentials, `GET /` says what is missing and
 * offers GitHub's manifest flow (a form that registers the app from app.yml).
 * After registration GitHub shows the App ID, lets you generate a private key,
 * and the webhook secret is the one you choose there; put them in `.env`.
 */
export function setupPage(options: SetupPageOptions): Handler {
  const manifest = YAML.parse(readFileSync(options.manifestPath, "utf8")) as Record<string, unknown>;
  const full = {
    ...manifest,
    url: manifest.url ?? options.baseUrl,
    hook_attributes: { url: `${options.baseUrl}/api/github/webhooks` },
    redirect_url: `${options.baseUrl}/`,
  };
  const origin = `${options.githubProtocol ?? "https"}://${options.githubHost ?? "github.com"}`;
  const action = options.organisation
    ? `${origin}/organizations/${encodeURIComponent(options.organisation)}/settings/apps/new`
    : `${origin}/settings/apps/new`;
  return (req, res) => {
    if (req.method !== "GET" || !["/", "/setup"].includes(pathOf(req))) return false;
    const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>labelrun — setup</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
code{background:#8882;padding:0 .2em;border-radius:3px}@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}}</style></head>
<body><h1>labelrun is running in setup mode</h1>
<p>The database, health checks and worker are up, but no GitHub App is configured, so no webhook can be received.</p>
<p>Missing: ${options.missing.map((m) => `<code>${escapeHtml(m)}</code>`).join(", ")}.</p>
<h2>Register the GitHub App</h2>
<form action="${escapeHtml(action)}" method="post">
<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(full))}">
<button type="submit">Register labelrun on GitHub</button></form>
<p>Then put <code>APP_ID</code>, <code>PRIVATE_KEY</code> (or <code>PRIVATE_KEY_PATH</code>) and <code>WEBHOOK_SECRET</code>
in <code>.env</code> and restart. README.md, “Register and install the app”, has the steps.</p></body></html>`;
    // The one form posts the manifest to GitHub.
    res.writeHead(200, htmlSecurityHeaders(origin));
    res.end(body);
    return true;
  };
}
