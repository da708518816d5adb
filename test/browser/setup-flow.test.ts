import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labeled } from "../fixtures/webhooks.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { httpRequest, postDelivery } from "../support/http.js";
import { spawnBin } from "../support/spawn-app.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = resolve("test-artifacts");
const REGISTERED_SECRET = "registered0secret0from0github";

/** A label that is not a trigger, signed with `secret`: accepted (200) once the App is configured with it. */
function signedDelivery(base: string, secret: string, id: string) {
  return postDelivery(base, { event: "issues", id, payload: labeled({ label: "bug" }).payload, secret });
}

// `npm start` from nothing to a registered App in one click, in Debian's chromium (.ci/run installs it).
describe.runIf(existsSync(CHROMIUM) || process.env.CI)("registering the GitHub App from the setup page", () => {
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    github = await startFakeGitHub({
      registers: { id: 4242, slug: "labelrun-e2e", pem: TEST_PRIVATE_KEY, webhookSecret: REGISTERED_SECRET },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await github?.close();
  });

  it("button → GitHub → back with a code: .env and a 0600 key are written and a signed webhook is accepted without a restart", async () => {
    const home = mkdtempSync(join(tmpdir(), "labelrun-setup-"));
    // `npm start` in a folder of its own (where it writes .env), with GitHub at the fake's address.
    const start = () =>
      spawnBin(
        "start",
        {
          PORT: "0",
          HOST: "127.0.0.1",
          LABELRUN_DATA_DIR: join(home, ".data"),
          LABELRUN_CONFIG: resolve("labelrun.config.yml"),
          GHE_HOST: github.host,
          GHE_PROTOCOL: "http",
          REDELIVER_FAILED_DELIVERIES: "false",
        },
        { cwd: home },
      );
    const app = start();
    try {
      const { port } = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
      const base = `http://localhost:${port}`;
      // Setup mode: no webhook route, and a made-up return from GitHub is refused.
      expect((await signedDelivery(base, REGISTERED_SECRET, "before")).status).toBe(404);
      const forged = await httpRequest(`${base}/setup/done?code=stolen&state=guessed`);
      expect(forged.status).toBe(400);
      expect(github.requests.some((r) => r.path.includes("/conversions"))).toBe(false);

      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.click("text=Register labelrun on GitHub");
      await page.waitForURL(/\/setup\/done\?/);
      expect(await page.locator("h2").textContent()).toContain("labelrun is registered as labelrun-e2e");
      expect(await page.locator("#install").getAttribute("href")).toBe(
        `${github.url}/apps/labelrun-e2e/installations/new`,
      );
      await page.screenshot({ path: `${ARTIFACTS}/setup-registered.png`, fullPage: true });

      // GitHub got the manifest with this server's webhook and return addresses, and one conversion.
      const form = github.requests.find((r) => r.path === "/settings/apps/new");
      const manifest = JSON.parse(new URLSearchParams(String(form?.body?.raw)).get("manifest") ?? "{}");
      expect(manifest.hook_attributes.url).toBe(`${base}/api/github/webhooks`);
      expect(manifest.redirect_url).toBe(`${base}/setup/done`);
      expect(manifest.default_permissions.checks).toBe("write");
      expect(github.requests.filter((r) => r.path.includes("/conversions"))).toHaveLength(1);

      const dotenv = readFileSync(join(home, ".env"), "utf8");
      expect(dotenv).toContain('APP_ID="4242"');
      expect(dotenv).toContain(`WEBHOOK_SECRET="${REGISTERED_SECRET}"`);
      expect(dotenv).toContain('GITHUB_CLIENT_ID="Iv1.fakeclient123"');
      expect(dotenv).toContain('GITHUB_CLIENT_SECRET="fakeclientsecret0123456789"');
      const keyPath = join(home, "labelrun.private-key.pem");
      expect(dotenv).toContain(`PRIVATE_KEY_PATH="${keyPath}"`);
      expect(readFileSync(keyPath, "utf8").trim()).toBe(TEST_PRIVATE_KEY.trim());
      expect(statSync(keyPath).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, ".env")).mode & 0o777).toBe(0o600);

      // The same process now serves webhooks signed with the new secret, and refuses others.
      expect((await signedDelivery(base, REGISTERED_SECRET, "after")).status).toBe(200);
      expect((await signedDelivery(base, "not-the-secret", "forged")).status).toBe(401);
      expect(app.child.exitCode).toBeNull();
      // The setup page is gone once the App is configured: the home page is the board.
      const home2 = await httpRequest(`${base}/`);
      expect(home2.status).toBe(302);
      expect((await httpRequest(`${base}/setup/done?code=again&state=x`)).status).toBe(404);
      // Restarted, it reads the same App from .env.
      expect(await app.stop()).toBe(0);
      const again = start();
      try {
        const restarted = await again.waitForLine((l) => typeof l.port === "number" && l.port > 0);
        expect(
          (await signedDelivery(`http://localhost:${restarted.port}`, REGISTERED_SECRET, "restarted")).status,
        ).toBe(200);
      } finally {
        expect(await again.stop()).toBe(0);
      }
    } finally {
      await app.stop();
    }
  }, 90_000);
});
