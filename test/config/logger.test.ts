import { Writable } from "node:stream";
import nock from "nock";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { makeProbot } from "../../src/bin/make-probot.js";
import { createLogger, REDACTED_PATHS } from "../../src/config/logger.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";

describe("logs at debug, with Probot built as in production", () => {
  afterEach(() => nock.cleanAll());

  it("a GitHub request is logged without the comment body it carried (nor the token)", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ level: "debug", destination });
    const probot = makeProbot(
      { appId: "1", privateKey: TEST_PRIVATE_KEY, webhookSecret: "s", baseUrl: "https://api.github.com" },
      log,
    );
    const github = octokitPort((id) => probot.auth(id) as never);
    nock("https://api.github.com")
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_secret_token_value", expires_at: "2099-01-01T00:00:00Z" })
      .post("/repos/o/r/issues/1/comments")
      .reply(201, { id: 5 });
    const secretWords = "cc @octo-org/security the private details of issue 1";
    await github.createComment({ installationId: 2, owner: "o", repo: "r", number: 1 }, secretWords);
    const all = lines.join("");
    expect(all).toContain("GitHub request: POST https://api.github.com/repos/o/r/issues/1/comments - 201");
    expect(all).toContain(`"body":"[redacted]"`);
    expect(all).not.toContain("private details");
    expect(all).not.toContain("ghs_secret_token_value");
  });
});

describe("the redaction of every line", () => {
  /** Each line a logger writes, parsed, without what differs between two loggers (time, pid, host). */
  function capture(): { lines: Array<Record<string, unknown>>; destination: Writable } {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        const { time: _t, pid: _p, hostname: _h, ...line } = JSON.parse(String(chunk)) as Record<string, unknown>;
        lines.push(line);
        done();
      },
    });
    return { lines, destination };
  }

  const circular: Record<string, unknown> = { token: "circular-secret", name: "loop" };
  circular.self = circular;
  class Credentials {
    password = "class-secret";
    user = "octocat";
    toJSON() {
      return { user: this.user, password: this.password };
    }
  }
  const hostile: Array<Record<string, unknown>> = [
    { token: "t0", password: "p0", body: "a stranger's words", DATABASE_URL: "postgres://u:pw@db/x", note: "kept" },
    { a: { token: "t1", keep: 1 }, b: { secret: "s1", privateKey: "k1" }, c: { webhookSecret: "w1", n: null } },
    { deep: { a: { token: "two levels down" } }, list: [{ password: "in an array" }], n: 5, s: "x" },
    {
      headers: { authorization: "Bearer top", accept: "json" },
      req: { headers: { authorization: "Bearer r", cookie: "c=1" } },
    },
    { request: { headers: { authorization: "Bearer one down" }, url: "https://api.github.com" } },
    { err: Object.assign(new Error("boom"), { token: "err-secret", status: 500 }) },
    { error: Object.assign(new Error("other key"), { password: "error-secret" }) },
    { creds: new Credentials(), when: new Date(0), bare: Object.assign(Object.create(null), { token: "null-proto" }) },
    { loop: circular },
    { frozen: Object.freeze({ token: "frozen-secret", keep: 1 }) },
    // A getter for `headers`: blanked as a plain value, never a getter and a value in one descriptor.
    {
      request: Object.defineProperty({ url: "u" }, "headers", {
        get: () => ({ authorization: "Bearer from a getter" }),
        enumerable: true,
      }),
    },
    { a: { token: undefined, GITHUB_TOKEN: "" }, b: { ADMIN_TOKEN: 0 }, c: { headers: "not an object" } },
  ];

  it("blanks what pino's redact paths blanked, line by line and in a child's bindings (the library as the oracle)", () => {
    const ours = capture();
    const oracle = capture();
    const log = createLogger({ level: "info", destination: ours.destination });
    const reference = pino(
      { level: "info", redact: { paths: REDACTED_PATHS, censor: "[redacted]" }, base: { app: "labelrun" } },
      oracle.destination,
    );
    for (const object of hostile) {
      log.info(object, "line");
      reference.info(object, "line");
      log.child(object).info("child");
      reference.child(object).info("child");
    }
    // An Error as the line's first argument (pino puts it under `err`).
    const direct = Object.assign(new Error("direct"), {
      token: "direct-secret",
      request: { headers: { authorization: "x" } },
    });
    log.error(direct, "direct");
    reference.error(direct, "direct");
    expect(ours.lines).toHaveLength(hostile.length * 2 + 1);
    expect(ours.lines).toEqual(oracle.lines);
    const all = JSON.stringify(ours.lines);
    for (const secret of [
      "t0",
      "t1",
      "s1",
      "k1",
      "w1",
      "Bearer one down",
      "Bearer from a getter",
      "frozen-secret",
      "err-secret",
      "error-secret",
      "class-secret",
    ])
      expect(all).not.toContain(`"${secret}"`);
    expect(all).toContain("boom"); // the error's message and stack are kept
  });

  it("never changes the objects it is given", () => {
    const log = createLogger({ level: "info", destination: capture().destination });
    const object = { a: { token: "t" }, request: { headers: { authorization: "Bearer b" } } };
    const error = Object.assign(new Error("boom"), { token: "e" });
    log.info({ ...object, err: error }, "line");
    log.child(object).info("child");
    expect(object).toEqual({ a: { token: "t" }, request: { headers: { authorization: "Bearer b" } } });
    expect(error.token).toBe("e");
    expect(error.message).toBe("boom");
  });
});
