import { randomBytes } from "node:crypto";
import { deleteToken, exchangeWebFlowCode, getWebFlowAuthorizationUrl } from "@octokit/oauth-methods";
import { request as octokitRequest } from "@octokit/request";
import type { Logger } from "pino";
import { coerceError } from "../errors.js";
import { type AdminAuth, readCookie, safeEqual } from "./auth.js";
import { html } from "./dashboard/html.js";
import { page } from "./dashboard/layout.js";
import { type Handler, pathOf } from "./http-server.js";

export const SIGN_IN_PATH = "/auth/github";
export const CALLBACK_PATH = "/auth/github/callback";
const STATE_COOKIE = "labelrun_oauth_state";
/** People who can see more installations than this are still signed in; the board shows the first ones. */
const MAX_INSTALLATIONS = 500;

export interface GitHubSignInOptions {
  clientId: string;
  clientSecret: string;
  /** GitHub's REST API base URL; the OAuth endpoints are found from it (github.com, or GHE's host). */
  apiBaseUrl: string;
  /** This server's public base URL (the callback is `${baseUrl}/auth/github/callback`). */
  baseUrl: string;
  auth: AdminAuth;
  log: Logger;
  /** GitHub's `fetch` (tests: nock sees the global one). */
  fetch?: typeof fetch;
}

/**
 * "Sign in with GitHub" through the App's own OAuth client (the setup page
 * saved it): GitHub vouches for who the person is, and which of this App's
 * installations they can see is asked with their token once; the token is then
 * dropped, never stored. The session records the login (every action is
 * recorded with it as the actor) and those installations (the board shows only
 * their jobs). The `state` is bound to the browser by a short-lived cookie, so
 * a code sent from elsewhere cannot sign someone in as another person.
 */
export function githubSignIn(options: GitHubSignInOptions): Handler {
  const request = octokitRequest.defaults({
    baseUrl: options.apiBaseUrl,
    headers: { "user-agent": "labelrun" },
    request: { fetch: options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args)) },
  });
  const redirectUrl = `${options.baseUrl}${CALLBACK_PATH}`;
  return async (req, res) => {
    const path = pathOf(req);
    if (req.method !== "GET" || (path !== SIGN_IN_PATH && path !== CALLBACK_PATH)) return false;
    const secure = options.baseUrl.startsWith("https://") ? "; Secure" : "";
    if (path === SIGN_IN_PATH) {
      const state = randomBytes(24).toString("base64url");
      const { url } = getWebFlowAuthorizationUrl({
        clientType: "github-app",
        clientId: options.clientId,
        redirectUrl,
        state,
        request,
      });
      // Lax: the cookie must come back on GitHub's top-level redirect to the callback.
      res.writeHead(302, {
        location: url,
        "set-cookie": `${STATE_COOKIE}=${state}; HttpOnly; SameSite=Lax; Path=${CALLBACK_PATH}; Max-Age=600${secure}`,
        "cache-control": "no-store",
      });
      res.end();
      return true;
    }
    const fail = (status: number, message: string) =>
      page(res, {
        title: "Sign in",
        csrf: "",
        status,
        body: html`<p>${message}</p><p><a href="/login">Back to sign in</a></p>`,
      });
    const query = new URL(req.url ?? "/", "http://localhost").searchParams;
    const expected = readCookie(req, STATE_COOKIE);
    const state = query.get("state") ?? "";
    if (!expected || !/^[A-Za-z0-9_-]{32}$/.test(expected) || !safeEqual(state, expected)) {
      fail(400, "This sign-in did not start in this browser (or took over ten minutes). Start again.");
      return true;
    }
    const code = query.get("code") ?? "";
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(code)) {
      fail(
        400,
        query.get("error") === "access_denied" ? "GitHub sign-in was cancelled." : "GitHub sent no usable code.",
      );
      return true;
    }
    try {
      const person = await whoIsThis(request, options, code, redirectUrl);
      if (!person.installationIds.length) {
        fail(403, `@${person.login} cannot see any repository labelrun is installed on.`);
        return true;
      }
      const cookie = await options.auth.signInPerson(req, person);
      options.log.info({ login: person.login }, "signed in with GitHub");
      // A page, not a redirect: a Strict session cookie is not sent on a redirect chain GitHub started.
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "set-cookie": [cookie, `${STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=${CALLBACK_PATH}; Max-Age=0${secure}`],
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
      });
      res.end(
        `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/jobs"><title>Signed in</title><a href="/jobs">Continue to the board</a>`,
      );
    } catch (error) {
      options.log.warn({ err: coerceError(error) }, "GitHub sign-in failed");
      fail(502, "GitHub did not confirm the sign-in (the code may have expired). Start again.");
    }
    return true;
  };
}

type OctokitRequest = typeof octokitRequest;

async function whoIsThis(request: OctokitRequest, options: GitHubSignInOptions, code: string, redirectUrl: string) {
  const { authentication } = await exchangeWebFlowCode({
    clientType: "github-app",
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    code,
    redirectUrl,
    request,
  });
  const authorization = `token ${authentication.token}`;
  try {
    return await identify(request, authorization);
  } finally {
    // The token was only for asking who this is: revoked at once (best effort; it expires anyway).
    await deleteToken({
      clientType: "github-app",
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      token: authentication.token,
      request,
    }).catch(() => {});
  }
}

async function identify(request: OctokitRequest, authorization: string) {
  const user = await request("GET /user", { headers: { authorization } });
  const login = String(user.data.login);
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(login)) throw new Error("GitHub named no usable login");
  // The installations of this App the person can reach (https://docs.github.com/en/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token).
  const installationIds: number[] = [];
  for (let pageNumber = 1; installationIds.length < MAX_INSTALLATIONS && pageNumber <= 5; pageNumber++) {
    const listed = await request("GET /user/installations", {
      headers: { authorization },
      per_page: 100,
      page: pageNumber,
    });
    const found = listed.data.installations.map((installation) => installation.id);
    installationIds.push(...found);
    if (found.length < 100) break;
  }
  return { login, installationIds: installationIds.slice(0, MAX_INSTALLATIONS) };
}
