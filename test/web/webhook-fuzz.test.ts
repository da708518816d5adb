import { createHmac } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEBHOOK_PATH } from "../../src/web/webhook-route.js";
import {
  checkRunRerequested,
  closed,
  commented,
  installationEvent,
  labeled,
  reviewCommented,
  reviewSubmitted,
  unlabeled,
} from "../fixtures/webhooks.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { WEBHOOK_SECRET } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { capturedLogger } from "../support/log-capture.js";
import { intakeFor, startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const BASES = [
  () => labeled({ label: "agent:implement" }),
  () => labeled({ label: "agent:implement", kind: "pull_request" }),
  () => unlabeled({ label: "agent:implement" }),
  () => commented({ body: "/labelrun retry" }),
  () => closed({}),
  () => installationEvent("created"),
  () => reviewSubmitted({ reviewState: "changes_requested" }),
  () => reviewCommented({ body: "/labelrun revise make it blue" }),
  () => checkRunRerequested(),
];
const PATHS = [
  ["action"],
  ["issue", "number"],
  ["issue", "title"],
  ["issue", "state"],
  ["issue", "html_url"],
  ["issue", "pull_request"],
  ["issue"],
  ["pull_request", "number"],
  ["pull_request"],
  ["label", "name"],
  ["label"],
  ["repository", "id"],
  ["repository", "full_name"],
  ["repository"],
  ["installation", "id"],
  ["installation"],
  ["sender", "login"],
  ["sender", "type"],
  ["sender"],
  ["comment", "id"],
  ["comment", "body"],
  ["comment", "created_at"],
  ["repositories"],
  ["review"],
  ["review", "id"],
  ["review", "state"],
  ["review", "body"],
  ["review", "user"],
  ["check_run", "id"],
  ["check_run"],
  ["pull_request", "head"],
] as const;

/** The worst of what a field can hold: numbers at the edges, NUL, huge and odd unicode, wrong types. */
const hostileValue = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 53,
    -(2 ** 53),
    1e308,
    0.5,
    "",
    "\u0000",
    "agent:implement\u0000",
    "a\u202eb",
    "🙂".repeat(2_000),
    "x".repeat(70_000),
    "../../etc/passwd",
    "javascript:alert(1)",
    "@octo-org/admins",
    null,
    true,
    [],
    {},
  ),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

function mutate(payload: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = payload;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

describe(`signed webhook payloads, fuzzed, through the real HTTP server (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  const { log, lines } = capturedLogger();
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    // Follow-up work (dispatch, comments) is dropped: this is about what the door does.
    const middleware = intakeFor(database, { log });
    web = await startTestWeb(database, { receiveWebhook: middleware });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });

  it(`${RUNS} mutated, correctly signed payloads: never a 5xx, never an error log, the server keeps serving`, async () => {
    let delivery = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: BASES.length - 1 }),
        fc.constantFrom(
          "issues",
          "pull_request",
          "issue_comment",
          "installation",
          "installation_repositories",
          "ping",
          "pull_request_review",
          "pull_request_review_comment",
          "check_run",
        ),
        fc.array(fc.tuple(fc.constantFrom(...PATHS), hostileValue), { minLength: 1, maxLength: 4 }),
        async (baseIndex, eventName, mutations) => {
          const base = (BASES[baseIndex] ?? BASES[0])?.() as { name: string; payload: Record<string, unknown> };
          const payload = structuredClone(base.payload);
          for (const [path, value] of mutations) mutate(payload, path, value);
          const body = JSON.stringify(payload);
          const before = lines.length;
          const response = await httpRequest(`${web.base}${WEBHOOK_PATH}`, {
            method: "POST",
            body,
            headers: {
              "content-type": "application/json",
              "x-github-event": eventName,
              "x-github-delivery": `fuzz-${++delivery}`,
              "x-hub-signature-256": `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`,
            },
          });
          const said = lines.slice(before);
          expect(response.status, `${eventName} ${body.slice(0, 300)} → ${response.body}`).toBeLessThan(500);
          expect(
            said.filter((l) => Number(l.level) >= 50),
            JSON.stringify(said),
          ).toEqual([]);
          // A rejection says so once; nothing a stranger sends makes the server write pages of log.
          expect(said.filter((l) => Number(l.level) >= 40).length).toBeLessThanOrEqual(1);
          expect(response.body).not.toMatch(/select |insert into|update jobs|\bat .*\.ts:\d+/i);
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261124) },
    );
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
    expect(delivery).toBe(RUNS);
  }, 300_000);
});
