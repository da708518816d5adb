import { createHmac } from "node:crypto";
import { connect, createServer } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { loadEnv } from "../../src/config/env.js";
import type { DatabaseHandle } from "../../src/db/client.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { findJobsForTarget } from "../../src/jobs/find-jobs.js";
import { registry } from "../../src/metrics.js";
import { AdminAuth } from "../../src/web/auth.js";
import { healthz } from "../../src/web/health.js";
import { closeServer, createHttpServer, listen } from "../../src/web/http-server.js";
import { JobStream } from "../../src/web/job-stream.js";
import { webHandlers } from "../../src/web/web-handlers.js";
import { WEBHOOK_PATH } from "../../src/web/webhook-route.js";
import { labeled, REPO } from "../fixtures/webhooks.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { T0 } from "../support/factories.js";
import { WEBHOOK_SECRET } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { intakeFor, startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";

/** The fields of a label payload the oddity tests change. */
type Mutable = {
  issue: { number: unknown; title: unknown };
  repository: { full_name: unknown };
  label: { name: unknown };
};

describe(`signed webhook deliveries over HTTP (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  let base: string;
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { receiveWebhook: intakeFor(database) });
    base = web.base;
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
  });

  const post = (body: string, signature: string, id = "http-delivery-1") =>
    httpRequest(`${base}${WEBHOOK_PATH}`, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": id,
        "x-hub-signature-256": signature,
      },
    });
  const sign = (body: string) => `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;

  it("a signed trigger is answered 2xx with the job already committed", async () => {
    const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    const response = await post(body, sign(body));
    expect(response.status).toBeLessThan(300);
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toMatchObject([
      { status: "pending", deliveryId: "http-delivery-1" },
    ]);
    expect(await registry.getSingleMetricAsString("labelrun_webhook_deliveries_total")).toContain(
      'labelrun_webhook_deliveries_total{event="issues.labeled",outcome="handled"} 1',
    );
  });

  it("a delivery with a wrong signature is refused (401) and records nothing", async () => {
    const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    const response = await post(body, sign(`${body} `));
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body).error.code).toBe("bad_signature");
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toEqual([]);
  });

  it("with the database down, a trigger is answered 5xx so GitHub records a failed delivery to redeliver", async () => {
    const down = await openTestDatabase(driver);
    await down.close();
    const middleware = intakeFor(down);
    const broken = await startTestWeb(down, { receiveWebhook: middleware }).catch(() => null);
    // A database that is down cannot LISTEN either: serve the same handlers without the stream.
    const server = broken ?? (await startWithoutStream(down, middleware));
    const port = Number(new URL(server.base).port);
    try {
      const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
      const response = await httpRequest(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "while-down",
          "x-hub-signature-256": sign(body),
        },
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
      // The answer (shown in GitHub's delivery log) says what happened, not the SQL or the connection.
      expect(response.body).toContain("could not record this delivery");
      expect(response.body).not.toMatch(/select|insert|postgres|127\.0\.0\.1|ECONN|closed/i);
      expect((await httpRequest(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });

  it.each([
    [
      "an issue number past PostgreSQL's integer",
      (p: Mutable) => {
        p.issue.number = 2 ** 31;
      },
      0,
    ],
    [
      "a negative issue number",
      (p: Mutable) => {
        p.issue.number = -1;
      },
      0,
    ],
    [
      "a NUL in the title",
      (p: Mutable) => {
        p.issue.title = "a\u0000b";
      },
      1,
    ],
    [
      "a repository name that is not owner/repo",
      (p: Mutable) => {
        p.repository.full_name = "../../etc";
      },
      0,
    ],
    [
      "a 2 MB label name",
      (p: Mutable) => {
        p.label.name = "x".repeat(2_000_000);
      },
      0,
    ],
  ])("a signed payload with %s is answered without a 5xx and the server keeps serving", async (_what, mutate, recorded) => {
    const payload = labeled({ label: "agent:implement" }).payload as unknown as Mutable;
    mutate(payload);
    const body = JSON.stringify(payload);
    const response = await post(body, sign(body), `odd-${Math.random()}`);
    expect(response.status).toBeLessThan(500);
    expect(response.body).not.toMatch(/select|insert|postgres/i);
    const number = Math.min(Math.max(Number(payload.issue.number) || 1, 1), 2 ** 31 - 1);
    const jobs = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: number });
    expect(jobs).toHaveLength(recorded);
    if (recorded) expect(jobs[0]?.targetTitle).toBe("a\uFFFDb");
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
  });

  it("with a database that hangs, a trigger is answered 5xx at the deadline — not 202 — so GitHub redelivers it", async () => {
    // A server that accepts connections and never answers: every query waits.
    const blackhole = createServer(() => {});
    await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
    const address = blackhole.address();
    const hanging = openPostgres({
      url: `postgres://postgres@127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hang`,
      max: 1,
    });
    const server = await startWithoutStream(hanging, intakeFor(hanging, { deadlineMs: 300 }));
    try {
      const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
      const response = await httpRequest(`${server.base}${WEBHOOK_PATH}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "while-slow",
          "x-hub-signature-256": sign(body),
        },
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(response.body).toContain("could not record this delivery");
    } finally {
      await server.close();
      void hanging.close();
      blackhole.close();
      blackhole.unref();
    }
  });

  it("a signed delivery without its event or id header, or not sent as JSON, is refused (4xx) and records nothing; a GET is a 405", async () => {
    const body = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    const headers = {
      "content-type": "application/json",
      "x-github-event": "issues",
      "x-github-delivery": "odd-headers",
      "x-hub-signature-256": sign(body),
    };
    const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
    const answers = await Promise.all([
      httpRequest(`${base}${WEBHOOK_PATH}`, { method: "POST", body, headers: without("x-github-event") }),
      httpRequest(`${base}${WEBHOOK_PATH}`, { method: "POST", body, headers: without("x-github-delivery") }),
      httpRequest(`${base}${WEBHOOK_PATH}`, {
        method: "POST",
        body,
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
      }),
      httpRequest(`${base}${WEBHOOK_PATH}`),
    ]);
    expect(answers.map((a) => a.status)).toEqual([400, 400, 415, 405]);
    expect(answers[0]?.body).toContain("x-github-event");
    expect(answers.map((a) => JSON.parse(a.body).error.code)).toEqual([
      "malformed",
      "malformed",
      "not_json",
      "method_not_allowed",
    ]);
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toEqual([]);
    // The same delivery with its headers is recorded: the refusals left nothing behind.
    expect((await post(body, sign(body), "odd-headers")).status).toBe(200);
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toHaveLength(1);
  });

  it("garbage JSON is refused without crashing the server", async () => {
    const response = await post("{not json", sign("{not json"));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect((await httpRequest(`${base}/healthz`)).status).toBe(200);
  });
});

async function startWithoutStream(
  handle: DatabaseHandle,
  middleware: Parameters<typeof webHandlers>[0]["receiveWebhook"],
  log = pino({ level: "silent" }),
) {
  const clock = new ManualClock(T0);
  const server = createHttpServer({
    log,
    handlers: webHandlers({
      env: loadEnv({}),
      receiveWebhook: middleware,
      port: 0,
      admin: {
        db: handle.db,
        clock,
        auth: new AdminAuth({ clock, secureCookies: false }),
        stream: new JobStream(),
        services: null,
        after: new AfterResponseTasks(log),
      },
      webhookSecret: WEBHOOK_SECRET,
      log,
    }),
  });
  const port = await listen(server, 0, "127.0.0.1");
  return { base: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

describe(`the webhook door against strangers (${driver})`, () => {
  let database: TestDatabase;
  let web: { base: string; close: () => Promise<void> };
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    web = await startWithoutStream(database, intakeFor(database), log);
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  beforeEach(() => {
    lines.length = 0;
  });
  const port = () => Number(new URL(web.base).port);

  /** Sends headers and then up to `sendBytes` of body on a raw socket; resolves with the status line and what was sent. */
  function rawPost(headers: Record<string, string>, sendBytes: number): Promise<{ status: number; sent: number }> {
    return new Promise((resolve) => {
      const socket = connect(port(), "127.0.0.1");
      let sent = 0;
      let answer = "";
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), sent });
      };
      socket.on("data", (chunk) => {
        answer += chunk.toString("latin1");
      });
      socket.on("close", finish);
      socket.on("error", finish);
      const head = Object.entries({ host: "127.0.0.1", "content-type": "application/json", ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      socket.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\n${head}\r\n`);
      const data = Buffer.alloc(1024 * 1024, 0x20);
      // A streamed body is framed as HTTP chunks, the way a client without Content-Length sends it.
      const chunk = headers["transfer-encoding"]
        ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")])
        : data;
      const pump = () => {
        while (!done && sent < sendBytes) {
          sent += chunk.length;
          if (!socket.write(chunk)) return socket.once("drain", pump);
        }
      };
      pump();
    });
  }

  it("refuses a body over 25 MB by its Content-Length before reading it, in one warn line without the body", async () => {
    const before = process.memoryUsage().rss;
    const answer = await rawPost(
      { "content-length": String(1024 ** 3), "x-github-event": "issues", "x-github-delivery": "huge-1" },
      1024 ** 3,
    );
    expect([0, 413]).toContain(answer.status); // the answer, or the connection cut before it was read
    expect(answer.sent).toBeLessThan(1024 ** 3); // the connection was cut long before a gigabyte
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, deliveryId: "huge-1", event: "issues", status: 413 });
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
  });

  it("counts a streamed body and stops at 25 MB; 20 at once with a made-up signature leave memory bounded", async () => {
    const fake = { "x-hub-signature-256": `sha256=${"0".repeat(64)}` };
    const alone = await rawPost(
      { "transfer-encoding": "chunked", "x-github-delivery": "stream-alone", ...fake },
      30 * 1024 * 1024,
    );
    // Read up to the limit and refused once it passed it; the rest never read.
    expect([0, 413]).toContain(alone.status);
    expect(alone.sent).toBeGreaterThan(25 * 1024 * 1024);
    expect(lines.find((line) => line.deliveryId === "stream-alone")).toMatchObject({ level: 40, status: 413 });
    const before = process.memoryUsage().rss;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rawPost({ "transfer-encoding": "chunked", "x-github-delivery": `stream-${i}`, ...fake }, 30 * 1024 * 1024),
      ),
    );
    // Past 100 MB held at once, the rest are told to come back later (503) instead of being read.
    // A client still sending when the server closes may see the connection cut (0) before the
    // answer; the server's one log line per delivery says what it answered each.
    expect(answers.every((a) => [0, 413, 503].includes(a.status))).toBe(true);
    const refusals = lines.filter(
      (line) => String(line.deliveryId).startsWith("stream-") && line.deliveryId !== "stream-alone",
    );
    expect(refusals).toHaveLength(20);
    expect(refusals.every((line) => line.status === 413 || line.status === 503)).toBe(true);
    expect(refusals.some((line) => line.status === 503)).toBe(true);
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 1024 * 1024);
    expect((await httpRequest(`${web.base}/healthz`)).status).toBe(200);
  });

  it("20 unsigned 25 MB posts are refused before their bodies are read", async () => {
    const before = process.memoryUsage().rss;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rawPost({ "content-length": String(25 * 1024 * 1024), "x-github-delivery": `unsigned-${i}` }, 25 * 1024 * 1024),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(401));
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    expect(lines).toHaveLength(20);
  });

  it("an unsigned or wrongly signed delivery is a 401, logged once at warn with no payload, and records nothing", async () => {
    const payload = JSON.stringify(labeled({ label: "agent:implement" }).payload);
    for (const signature of [
      "",
      "sha256=0000",
      `sha256=${createHmac("sha256", "wrong").update(payload).digest("hex")}`,
    ]) {
      lines.length = 0;
      const response = await httpRequest(`${web.base}${WEBHOOK_PATH}`, {
        method: "POST",
        body: payload,
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "unsigned-1",
          ...(signature ? { "x-hub-signature-256": signature } : {}),
        },
      });
      expect(response.status).toBe(401);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, deliveryId: "unsigned-1", status: 401 });
      expect(JSON.stringify(lines)).not.toContain("Codertocat");
    }
    expect(await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 })).toEqual([]);
  });
});

describe("slow clients", () => {
  it("one that trickles its headers is cut off at the headers deadline, and the server keeps serving", async () => {
    const server = createHttpServer({
      log: pino({ level: "silent" }),
      handlers: [healthz],
      timeouts: { headers: 500, request: 1_000, keepAlive: 500 },
    });
    const port = await listen(server, 0, "127.0.0.1");
    try {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n"); // …and never the blank line
      const started = Date.now();
      const closed = await new Promise<string>((resolve) => {
        let answer = "";
        socket.on("data", (chunk) => {
          answer += chunk.toString();
        });
        socket.on("close", () => resolve(answer));
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(closed).toMatch(/^HTTP\/1\.1 408/);
      expect((await httpRequest(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await closeServer(server);
    }
  });
});
