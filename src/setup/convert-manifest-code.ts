import { z } from "zod";
import { coerceError } from "../errors.js";
import { fetchWithTimeout } from "../github/fetch-with-timeout.js";

/** What GitHub hands back once, for a registered App: everything `.env` needs. */
export interface RegisteredApp {
  id: number;
  slug: string;
  /** The App's page on GitHub (its install page is `${htmlUrl}/installations/new`). */
  htmlUrl: string;
  pem: string;
  webhookSecret: string;
  clientId: string;
  clientSecret: string;
}

// Each value ends up on a line of `.env`: nothing that could end that line or open a quote.
const token = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, "unexpected characters");
const conversion = z.object({
  id: z.number().int().positive(),
  slug: z.string().regex(/^[a-z0-9-]{1,100}$/, "unexpected characters"),
  html_url: z.string().url(),
  pem: z.string().regex(/^-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----\s*$/),
  webhook_secret: token,
  client_id: token,
  client_secret: token,
});

/** Refused by GitHub or answered with something that is not an App: said in one line. */
export class ManifestConversionError extends Error {
  override name = "ManifestConversionError";
}

/**
 * The second half of GitHub's manifest flow: the one-hour `code` GitHub
 * redirected back with is exchanged (once) for the App's id, private key,
 * webhook secret and OAuth client
 * (https://docs.github.com/en/rest/apps/apps#create-a-github-app-from-a-manifest).
 * The request needs no authentication; the code is the secret.
 */
export async function convertManifestCode(params: {
  code: string;
  /** GitHub's REST API base URL (api.github.com, or GHE's /api/v3). */
  apiBaseUrl: string;
  /** The only origin the App's page may be on (github.com, or GHE_HOST). */
  githubOrigin: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}): Promise<RegisteredApp> {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(params.code)) {
    throw new ManifestConversionError("the code GitHub redirected back with is malformed");
  }
  const send = fetchWithTimeout(params.timeoutMs ?? 15_000, params.fetch ?? fetch);
  let response: Response;
  try {
    response = await send(`${params.apiBaseUrl.replace(/\/+$/, "")}/app-manifests/${params.code}/conversions`, {
      method: "POST",
      headers: { accept: "application/vnd.github+json", "user-agent": "labelrun" },
    });
  } catch (error) {
    throw new ManifestConversionError(`GitHub could not be reached: ${coerceError(error).message}`, { cause: error });
  }
  // The body is read with a bound: a key, two secrets and a few names are a few kilobytes.
  const text = (await response.text()).slice(0, 256 * 1024);
  if (!response.ok) {
    const reason =
      response.status === 404 || response.status === 422
        ? "the code is unknown, used or expired (it lasts one hour); register again"
        : `GitHub answered ${response.status}`;
    throw new ManifestConversionError(reason);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ManifestConversionError("GitHub's answer is not JSON");
  }
  const parsed = conversion.safeParse(body);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".")))].join(", ");
    throw new ManifestConversionError(`GitHub's answer is not a registered App (${fields})`);
  }
  const app = parsed.data;
  const page = new URL(app.html_url);
  if (page.origin !== new URL(params.githubOrigin).origin) {
    throw new ManifestConversionError(`GitHub's answer names an App page on another host (${page.host})`);
  }
  return {
    id: app.id,
    slug: app.slug,
    htmlUrl: `${page.origin}${page.pathname.replace(/\/+$/, "")}`,
    pem: app.pem,
    webhookSecret: app.webhook_secret,
    clientId: app.client_id,
    clientSecret: app.client_secret,
  };
}
