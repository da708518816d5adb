import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CSP_REPORT_PATH } from "../../src/web/csp-report.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { httpRequest } from "../support/http.js";
import { capturedLogger } from "../support/log-capture.js";
import { startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`the CSP report door, against strangers (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  const { log, lines } = capturedLogger();
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { log });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  const post = (body: string) =>
    httpRequest(`${web.base}${CSP_REPORT_PATH}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/csp-report" },
    });
  const report = (blocked: string) =>
    JSON.stringify({
      "csp-report": {
        "document-uri": "http://127.0.0.1/jobs/1",
        "effective-directive": "script-src-elem",
        "blocked-uri": blocked,
      },
    });

  it("a report is one warn line, its fields cut short and inert; garbage and floods are answered and bounded", async () => {
    lines.length = 0;
    expect((await post(report("inline @octo-org/admins"))).status).toBe(204);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      directive: "script-src-elem",
      blocked: "inline @&#8203;octo-org/admins",
    });
    for (const garbage of ["", "{", "null", "[]", '{"csp-report":7}', "\u0000".repeat(100)])
      expect((await post(garbage)).status).toBe(204);
    expect((await post("x".repeat(9 * 1024))).status).toBe(413);
    expect((await httpRequest(`${web.base}${CSP_REPORT_PATH}`)).status).toBe(405);
    expect(lines).toHaveLength(1);
    // 200 reports in a burst: at most 30 lines a minute.
    for (let i = 0; i < 200; i++) await post(report(`inline-${i}`));
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(lines.every((l) => l.level === 40)).toBe(true);
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
  });
});
