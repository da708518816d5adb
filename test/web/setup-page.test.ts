import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import type { RegisteredApp } from "../../src/setup/convert-manifest-code.js";
import { openTestDatabase, testDrivers } from "../support/databases.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { ADMIN_TOKEN, startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`the setup page's registration button (${driver})`, () => {
  it.each([
    [{}, 'action="https://github.com/settings/apps/new?state=', "https://github.com"],
    [
      { GH_ORG: "octo-org" },
      'action="https://github.com/organizations/octo-org/settings/apps/new?state=',
      "https://github.com",
    ],
    [
      { GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "http", GH_ORG: "team" },
      'action="http://ghe.example.com/organizations/team/settings/apps/new?state=',
      "http://ghe.example.com",
    ],
  ])("with %j posts the manifest to %s, and only forms to it are allowed", async (env, action, origin) => {
    expect(loadEnv(env as NodeJS.ProcessEnv).GH_ORG).toBe((env as { GH_ORG?: string }).GH_ORG);
    const database = await openTestDatabase(driver);
    const web = await startTestWeb(database, { env: env as Record<string, string> });
    try {
      const page = await httpRequest(`${web.base}/`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(page.status).toBe(200);
      expect(page.body).toContain(action);
      expect(String(page.headers["content-security-policy"])).toContain(`form-action 'self' ${origin};`);
    } finally {
      await web.close();
      await database.close();
    }
  });
});

describe(`the setup page's return from GitHub (${driver})`, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  const registered: RegisteredApp[] = [];
  const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, {
      register: async (app) => {
        registered.push(app);
      },
    });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  const stateOfPage = async () => {
    const page = await httpRequest(`${web.base}/setup`, { headers: asAdmin });
    return /\?state=([A-Za-z0-9_-]+)"/.exec(page.body)?.[1] ?? "";
  };

  it("is the admin's: without the token a browser is sent to sign in, a forged Host is refused", async () => {
    expect((await httpRequest(`${web.base}/setup`)).status).toBe(303);
    expect((await httpRequest(`${web.base}/setup/done?code=a&state=b`)).status).toBe(303);
    const bare = await startTestWeb(database, { adminToken: null });
    try {
      expect((await httpRequest(`${bare.base}/setup`)).status).toBe(200);
      const rebound = await httpRequest(`${bare.base}/setup`, { headers: { host: "labelrun.evil.example" } });
      expect(rebound.status).toBe(403);
    } finally {
      await bare.close();
    }
  });

  it("exchanges the code once for a state it issued, and refuses the same state again", async () => {
    const state = await stateOfPage();
    expect(state).toHaveLength(32);
    const scope = nock("https://api.github.com").post("/app-manifests/thecode/conversions").reply(201, {
      id: 5,
      slug: "labelrun-acme",
      html_url: "https://github.com/apps/labelrun-acme",
      pem: TEST_PRIVATE_KEY,
      webhook_secret: "abc",
      client_id: "Iv1.y",
      client_secret: "z",
    });
    const done = await httpRequest(`${web.base}/setup/done?code=thecode&state=${state}`, { headers: asAdmin });
    expect(done.status).toBe(200);
    expect(done.body).toContain('href="https://github.com/apps/labelrun-acme/installations/new"');
    expect(scope.isDone()).toBe(true);
    expect(registered.map((app) => app.id)).toEqual([5]);
    const replay = await httpRequest(`${web.base}/setup/done?code=thecode&state=${state}`, { headers: asAdmin });
    expect(replay.status).toBe(400);
    expect(registered).toHaveLength(1);
  });

  it("says why a registration failed (an expired code) and keeps serving", async () => {
    const state = await stateOfPage();
    nock("https://api.github.com").post("/app-manifests/old/conversions").reply(404, { message: "Not Found" });
    const done = await httpRequest(`${web.base}/setup/done?code=old&state=${state}`, { headers: asAdmin });
    expect(done.status).toBe(502);
    expect(done.body).toContain("expired");
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
  });

  it("a hostile code or state (huge, NUL bytes, markup) is refused without a request to GitHub", async () => {
    for (const query of [
      `code=${"a".repeat(5000)}&state=${"b".repeat(5000)}`,
      "code=%00%00&state=%00",
      "code=<script>&state=<script>alert(1)</script>",
    ]) {
      const response = await httpRequest(`${web.base}/setup/done?${query}`, { headers: asAdmin });
      expect(response.status).toBe(400);
      expect(response.body).not.toContain("<script>");
    }
    const state = await stateOfPage();
    const response = await httpRequest(`${web.base}/setup/done?code=%3Cscript%3E&state=${state}`, { headers: asAdmin });
    expect(response.status).toBe(502);
    expect(response.body).toContain("malformed");
  });
});
