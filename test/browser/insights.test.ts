import { existsSync, mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { NOW, seedInsights } from "../support/insights-fixture.js";
import { ADMIN_TOKEN, startTestWeb } from "../support/web-harness.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = "test-artifacts";
const driver = testDrivers[0] ?? "pglite";

// The insight pages in Debian's chromium (.ci/run installs it), over a database whose figures are known.
describe.runIf(existsSync(CHROMIUM) || process.env.CI)(`the insight pages in headless Chromium (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    database = await openTestDatabase(driver);
    await database.reset();
    await seedInsights(database.db);
    web = await startTestWeb(database, { clock: new ManualClock(NOW) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${web.base}/login`);
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${web.base}/jobs`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await database?.close();
  });

  const tile = (name: string) => page.locator(`[data-tile="${name}"] b`).textContent();

  it("shows the fleet's figures as charts with tables, and they match the seeded jobs", async () => {
    await page.click("text=Insights");
    await page.waitForURL(`${web.base}/insights`);
    expect(await tile("finished")).toBe("7");
    expect(await tile("success")).toBe("66.7 %");
    expect(await tile("cost")).toBe("$3.85");
    // Runs of 10, 30, 60, 60, 120, 180 and 600 s: nearest-rank p50 60 s and p90 600 s, shown as their 10 % bucket's middle.
    expect(await tile("duration")).toBe("57s / 10m 22s");
    expect(await page.locator("#duplicates").textContent()).toContain("2 duplicate triggers folded");
    expect(await page.locator("#chart-outcomes g[data-label]").count()).toBe(30);
    expect(await page.locator('#chart-outcomes g[data-label="2026-03-09"] rect').count()).toBe(2);
    // repository, jobs, completed, failed, cost
    expect(await page.locator("#table-repositories tbody tr").allTextContents()).toEqual([
      "acme/api430$1.75",
      "acme/web202$0.10",
      "other/site110$2.00",
    ]);
    expect(await page.locator("#table-failures tbody tr").allTextContents()).toEqual(["AGENT_ERROR1", "TIMEOUT1"]);
    await page.screenshot({ path: `${ARTIFACTS}/insights.png`, fullPage: true });

    await page.click("text=last 90 days");
    await page.waitForURL(/days=90/);
    expect(await tile("finished")).toBe("8");
  });

  it("a repository's page narrows the figures to it and lists its latest jobs", async () => {
    await page.goto(`${web.base}/insights?days=30`);
    await page.click('#table-repositories a:text("acme/web")');
    await page.waitForURL(`${web.base}/insights/acme/web?days=30`);
    expect(await page.locator("h2").first().textContent()).toContain("acme/web");
    expect(await tile("finished")).toBe("2");
    expect(await tile("success")).toBe("0.0 %");
    expect(await page.locator("#recent .card").count()).toBe(2);
    await page.screenshot({ path: `${ARTIFACTS}/insights-repository.png`, fullPage: true });
  });

  it("a hostile window or path is a clear 400, and the server keeps serving", async () => {
    const bad = await page.goto(`${web.base}/insights?days=100000`);
    expect(bad?.status()).toBe(400);
    expect(await page.textContent("body")).toContain("`days` must be 7, 30 or 90");
    const malformed = await page.goto(`${web.base}/insights/%E0%A4%A/x`);
    expect(malformed?.status()).toBe(400);
    const markup = await page.goto(`${web.base}/insights?repository=${encodeURIComponent("<script>x</script>")}`);
    expect(markup?.status()).toBe(400);
    expect((await page.goto(`${web.base}/insights`))?.status()).toBe(200);
  });
});
