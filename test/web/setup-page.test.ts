import { describe, expect, it } from "vitest";
import { loadEnv } from "../../src/config/env.js";
import { openTestDatabase, testDrivers } from "../support/databases.js";
import { httpRequest } from "../support/http.js";
import { startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`the setup page's registration button (${driver})`, () => {
  it.each([
    [{}, 'action="https://github.com/settings/apps/new"', "https://github.com"],
    [
      { GH_ORG: "octo-org" },
      'action="https://github.com/organizations/octo-org/settings/apps/new"',
      "https://github.com",
    ],
    [
      { GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "http", GH_ORG: "team" },
      'action="http://ghe.example.com/organizations/team/settings/apps/new"',
      "http://ghe.example.com",
    ],
  ])("with %j posts the manifest to %s, and only forms to it are allowed", async (env, action, origin) => {
    expect(loadEnv(env as NodeJS.ProcessEnv).GH_ORG).toBe((env as { GH_ORG?: string }).GH_ORG);
    const database = await openTestDatabase(driver);
    const web = await startTestWeb(database, { env: env as Record<string, string> });
    try {
      const page = await httpRequest(`${web.base}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain(action);
      expect(String(page.headers["content-security-policy"])).toContain(`form-action ${origin}`);
    } finally {
      await web.close();
      await database.close();
    }
  });
});
