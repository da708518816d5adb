import { existsSync, mkdirSync } from "node:fs";
import { eq } from "drizzle-orm";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { jobLogs, jobs } from "../../src/db/schema.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { capturedLogger } from "../support/log-capture.js";
import { ADMIN_TOKEN, startTestWeb } from "../support/web-harness.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = "test-artifacts";
const driver = testDrivers[0] ?? "pglite";
const now = () => systemClock.now();

// Debian's chromium, driven by playwright-core (no browser download). .ci/run installs it.
describe.runIf(existsSync(CHROMIUM) || process.env.CI)(`the dashboard in headless Chromium (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  let browser: Browser;
  let page: Page;
  const captured = capturedLogger("warn");
  const logLines = captured.lines;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { log: captured.log });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await database?.close();
  });
  beforeEach(async () => {
    await database.reset();
    await seedInstallation(database.db, 1);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    // Sign in once with the admin token: the session cookie carries the rest.
    await page.goto(`${web.base}/jobs`);
    expect(page.url()).toBe(`${web.base}/login`);
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${web.base}/jobs`);
    await page.waitForFunction(() => document.body.dataset.live === "on");
  }, 30_000);

  const card = (id: number) => page.locator(`.card[data-job="${id}"]`);

  it("a job appears on the board when queued and moves to Running and Completed without a reload", async () => {
    const job = await makeJob(database.db, { targetTitle: "Make the widgets spin", targetNumber: 7, at: now() });
    await transitionJob(database.db, { jobId: job.id, from: "pending", to: "queued", at: now(), actor: "test" });
    await expect.poll(() => card(job.id).getAttribute("data-status")).toBe("queued");
    expect(await page.locator('[data-column="queued"]').textContent()).toContain("Make the widgets spin");
    await transitionJob(database.db, {
      jobId: job.id,
      from: "queued",
      to: "running",
      at: now(),
      actor: "test",
      patch: { progress: 40, progressMessage: "writing tests" },
    });
    await expect.poll(() => card(job.id).getAttribute("data-status")).toBe("running");
    expect(await card(job.id).locator(".bar").count()).toBe(1);
    const others = ["Add a dark theme", "Flaky test in the parser", "Upgrade to Node 22"];
    for (const [i, title] of others.entries()) {
      const other = await makeJob(database.db, {
        targetTitle: title,
        at: new Date(Date.now() - (i + 1) * 240_000),
        jobType: i === 1 ? "review" : "implement",
      });
      if (i > 0)
        await transitionJob(database.db, { jobId: other.id, from: "pending", to: "queued", at: now(), actor: "test" });
    }
    await page.screenshot({ path: `${ARTIFACTS}/board.png`, fullPage: true });
    await transitionJob(database.db, {
      jobId: job.id,
      from: "running",
      to: "completed",
      at: now(),
      actor: "test",
      patch: { resultUrl: "https://github.com/o/r/pull/8" },
    });
    await expect.poll(() => page.locator(`[data-column="completed"] .card[data-job="${job.id}"]`).count()).toBe(1);
  }, 30_000);

  it("the job page shows the job and its log, and its Cancel button cancels a running job", async () => {
    const job = await makeJob(database.db, { status: "queued", targetTitle: "Fix the spelling", at: now() });
    await transitionJob(database.db, { jobId: job.id, from: "queued", to: "running", at: now(), actor: "test" });
    await database.db.insert(jobLogs).values({
      jobId: job.id,
      attempt: 1,
      seq: 0,
      stream: "stdout",
      line: "::progress::10 reading <the issue>",
      at: now(),
    });
    await page.goto(`${web.base}/jobs/${job.id}`);
    expect(await page.locator("#job-status").textContent()).toBe("running");
    expect(await page.locator("#log").textContent()).toContain("reading <the issue>");
    // A line the agent prints later appears without a reload (live tail).
    await database.db
      .insert(jobLogs)
      .values({ jobId: job.id, attempt: 1, seq: 1, stream: "stderr", line: "a later line", at: now() });
    await expect.poll(() => page.locator("#log").textContent(), { timeout: 5000 }).toContain("a later line");
    await page.screenshot({ path: `${ARTIFACTS}/job-page.png`, fullPage: true });
    await page.click("#cancel");
    await expect.poll(async () => (await getJob(database.db, job.id))?.status).toBe("cancelled");
    await expect.poll(() => page.locator("#job-status").textContent()).toBe("cancelled");
    expect(await page.locator("#retry").count()).toBe(1);
    const [row] = await database.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row?.failureMessage).toBe("cancelled by admin:session");
  }, 30_000);

  it("a javascript: link that got into a page does not run when clicked, and the browser reports the violation", async () => {
    const job = await makeJob(database.db, { installationId: 1, status: "queued", at: now() });
    // The job page shows a hostile result URL as text; the policy is the second wall should one get through.
    await database.db.update(jobs).set({ resultUrl: "javascript:window.__ran=1" }).where(eq(jobs.id, job.id));
    await page.goto(`${web.base}/jobs/${job.id}`);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    await page.evaluate(() => {
      const w = window as unknown as { __violations: string[] };
      w.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => w.__violations.push(e.effectiveDirective));
      const a = document.createElement("a");
      a.id = "planted";
      a.href = "javascript:window.__ran=1";
      a.textContent = "Result";
      document.body.append(a);
    });
    await page.click("#planted");
    await page.waitForFunction(() => (window as unknown as { __violations: string[] }).__violations.length > 0);
    expect(await page.evaluate(() => (window as unknown as { __ran?: number }).__ran)).toBeUndefined();
    expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toContain(
      "script-src-elem",
    );
    // The report reaches the server: one warn line naming the page and the directive.
    for (const started = Date.now(); !logLines.some((l) => String(l.msg).includes("Content-Security-Policy")); ) {
      if (Date.now() - started > 10_000) throw new Error(`no CSP report arrived: ${JSON.stringify(logLines)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const report = logLines.find((l) => String(l.msg).includes("Content-Security-Policy"));
    expect(report).toMatchObject({
      directive: expect.stringMatching(/^script-src/),
      page: expect.stringContaining(`/jobs/${job.id}`),
    });
  });

  it("a phone-sized screen stacks the board in one column", async () => {
    await makeJob(database.db, { status: "queued" });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const columns = await page
      .locator(".board")
      .first()
      .evaluate((el) => getComputedStyle(el).gridTemplateColumns.split(" ").length);
    expect(columns).toBe(1);
  }, 30_000);
});
