import { Writable } from "node:stream";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { makeProbot } from "../../src/bin/make-probot.js";
import { createLogger } from "../../src/config/logger.js";
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
