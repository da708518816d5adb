import nock from "nock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { PermissionCache } from "../../src/github/commands/run-command.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { listJobEvents } from "../../src/jobs/find-jobs.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { makeProbot, TEST_PRIVATE_KEY, WEBHOOK_SECRET } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { ADMIN_TOKEN, startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";
const CLIENT = { GITHUB_CLIENT_ID: "Iv1.signin", GITHUB_CLIENT_SECRET: "oauth-client-secret" };

/** GitHub's side of one web-flow sign-in (a fake OAuth provider): the code, the person, their installations. */
function githubVouchesFor(login: string, installations: number[], code = "oauthcode") {
  const web = nock("https://github.com")
    .post(
      "/login/oauth/access_token",
      (body) => body.code === code && body.client_secret === CLIENT.GITHUB_CLIENT_SECRET,
    )
    .reply(200, { access_token: `ghu_${login}`, token_type: "bearer", scope: "" });
  const api = nock("https://api.github.com")
    .get("/user")
    .matchHeader("authorization", `token ghu_${login}`)
    .reply(200, { login, id: 1 })
    .get("/user/installations")
    .query(true)
    .reply(200, { total_count: installations.length, installations: installations.map((id) => ({ id })) })
    .delete(`/applications/${CLIENT.GITHUB_CLIENT_ID}/token`)
    .reply(204);
  return { done: () => web.isDone() && api.isDone() };
}

/** The permission lookup the App makes (installation token, then the collaborator's permission). */
function repositoryPermission(login: string, permission: "read" | "write") {
  return nock("https://api.github.com")
    .post("/app/installations/1/access_tokens")
    .reply(201, { token: "ghs_x", expires_at: "2099-01-01T00:00:00Z" })
    .get(`/repos/octo-org/widgets/collaborators/${login}/permission`)
    .reply(200, { permission, role_name: permission, user: { login } });
}

describe(`signing in with GitHub (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    const probot = makeProbot();
    const github = octokitPort((id) => (id === undefined ? probot.auth() : probot.auth(id)) as never);
    web = await startTestWeb(database, {
      env: { APP_ID: "1", PRIVATE_KEY: TEST_PRIVATE_KEY, WEBHOOK_SECRET, ...CLIENT },
      permissions: new PermissionCache(github, systemClock),
    });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
    await seedInstallation(database.db, 1);
    await seedInstallation(database.db, 2);
  });

  /** The whole web flow as a browser makes it; returns the session cookie and the page's CSRF token. */
  async function signIn(login: string, installations: number[]) {
    const start = await httpRequest(`${web.base}/auth/github`);
    expect(start.status).toBe(302);
    const authorize = new URL(String(start.headers.location));
    expect(authorize.origin + authorize.pathname).toBe("https://github.com/login/oauth/authorize");
    expect(authorize.searchParams.get("client_id")).toBe(CLIENT.GITHUB_CLIENT_ID);
    const state = authorize.searchParams.get("state") ?? "";
    const stateCookie = String((start.headers["set-cookie"] as string[])[0]).split(";")[0] ?? "";
    const github = githubVouchesFor(login, installations);
    const back = await httpRequest(`${web.base}/auth/github/callback?code=oauthcode&state=${state}`, {
      headers: { cookie: stateCookie },
    });
    expect(back.status).toBe(200);
    expect(github.done()).toBe(true);
    const cookie = String((back.headers["set-cookie"] as string[])[0]).split(";")[0] ?? "";
    const board = await httpRequest(`${web.base}/jobs`, { headers: { cookie } });
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(board.body)?.[1] ?? "";
    return { cookie, csrf, board };
  }

  it("the login page offers GitHub; a signed-in person is named on the board and sees only their installations' jobs", async () => {
    expect((await httpRequest(`${web.base}/login`)).body).toContain('href="/auth/github"');
    const mine = await makeJob(database.db, { installationId: 1, targetTitle: "Mine to see", status: "queued" });
    const theirs = await makeJob(database.db, { installationId: 2, targetTitle: "Not for me", status: "queued" });
    const { cookie, board } = await signIn("mona", [1]);
    expect(board.status).toBe(200);
    expect(board.body).toContain("@mona");
    expect(board.body).toContain("Mine to see");
    expect(board.body).not.toContain("Not for me");
    const api = JSON.parse((await httpRequest(`${web.base}/api/jobs`, { headers: { cookie } })).body);
    expect(api.jobs.map((job: { id: number }) => job.id)).toEqual([mine.id]);
    expect((await httpRequest(`${web.base}/api/jobs/${theirs.id}`, { headers: { cookie } })).status).toBe(404);
    expect((await httpRequest(`${web.base}/jobs/${theirs.id}`, { headers: { cookie } })).status).toBe(404);
  });

  it("an action is refused to a reader and allowed to a writer, who is recorded as its actor", async () => {
    const job = await makeJob(database.db, { installationId: 1, status: "queued" });
    const reader = await signIn("reader", [1]);
    const readScope = repositoryPermission("reader", "read");
    const refused = await httpRequest(`${web.base}/api/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { cookie: reader.cookie, "x-csrf-token": reader.csrf },
    });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.message).toBe("@reader needs write access to octo-org/widgets to do that");
    expect(readScope.isDone()).toBe(true);

    const writer = await signIn("writer", [1]);
    nock("https://api.github.com")
      .get("/repos/octo-org/widgets/collaborators/writer/permission")
      .reply(200, { permission: "write", role_name: "write", user: { login: "writer" } });
    const allowed = await httpRequest(`${web.base}/api/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { cookie: writer.cookie, "x-csrf-token": writer.csrf },
    });
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.body).job.status).toBe("cancelled");
    const events = await listJobEvents(database.db, job.id);
    expect(events.at(-1)).toMatchObject({ toStatus: "cancelled", actor: "writer" });
  });

  it("signing out ends the session for good; the admin token still works for automation", async () => {
    const { cookie } = await signIn("mona", [1]);
    const out = await httpRequest(`${web.base}/logout`, { method: "POST", headers: { cookie } });
    expect(out.status).toBe(303);
    expect((await httpRequest(`${web.base}/api/jobs`, { headers: { cookie } })).status).toBe(401);
    const bearer = await httpRequest(`${web.base}/api/jobs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(bearer.status).toBe(200);
  });

  it("a callback without this browser's state, with a hostile code, or for a person with no installation signs no one in", async () => {
    const noState = await httpRequest(`${web.base}/auth/github/callback?code=oauthcode&state=abc`);
    expect(noState.status).toBe(400);
    expect(noState.headers["set-cookie"]).toBeUndefined();
    const start = await httpRequest(`${web.base}/auth/github`);
    const state = new URL(String(start.headers.location)).searchParams.get("state") ?? "";
    const stateCookie = String((start.headers["set-cookie"] as string[])[0]).split(";")[0] ?? "";
    const otherState = await httpRequest(`${web.base}/auth/github/callback?code=x&state=${"A".repeat(32)}`, {
      headers: { cookie: stateCookie },
    });
    expect(otherState.status).toBe(400);
    const hostile = await httpRequest(
      `${web.base}/auth/github/callback?code=${encodeURIComponent("<script>\u0000")}&state=${state}`,
      { headers: { cookie: stateCookie } },
    );
    expect(hostile.status).toBe(400);
    expect(hostile.body).not.toContain("<script>");
    const github = githubVouchesFor("stranger", []);
    const nobody = await httpRequest(`${web.base}/auth/github/callback?code=oauthcode&state=${state}`, {
      headers: { cookie: stateCookie },
    });
    expect(nobody.status).toBe(403);
    expect(nobody.body).toContain("@stranger cannot see any repository labelrun is installed on");
    expect(nobody.headers["set-cookie"]).toBeUndefined();
    expect(github.done()).toBe(true);
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
  });
});
