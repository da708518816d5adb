import nock from "nock";
import { describe, expect, it } from "vitest";
import { convertManifestCode, ManifestConversionError } from "../../src/setup/convert-manifest-code.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";

const API = "https://api.github.com";
const convert = (code = "abc123") => convertManifestCode({ code, apiBaseUrl: API, githubOrigin: "https://github.com" });
const answer = {
  id: 9,
  slug: "labelrun-acme",
  html_url: "https://github.com/apps/labelrun-acme",
  pem: TEST_PRIVATE_KEY,
  webhook_secret: "e0f1",
  client_id: "Iv1.x",
  client_secret: "c1",
};

describe("exchanging the manifest flow's code", () => {
  it("posts the code once and returns the App's credentials", async () => {
    const scope = nock(API).post("/app-manifests/abc123/conversions").reply(201, answer);
    const app = await convert();
    expect(app).toMatchObject({ id: 9, slug: "labelrun-acme", webhookSecret: "e0f1", clientId: "Iv1.x" });
    expect(app.htmlUrl).toBe("https://github.com/apps/labelrun-acme");
    expect(scope.isDone()).toBe(true);
  });

  it("refuses a malformed code without calling GitHub", async () => {
    await expect(convert("../../app/installations")).rejects.toThrow(/malformed/);
    await expect(convert("")).rejects.toThrow(ManifestConversionError);
  });

  it.each([
    ["an expired code", 404, { message: "Not Found" }, /expired/],
    ["GitHub down", 502, "<html>", /answered 502/],
    ["not JSON", 201, "<html>nope</html>", /not JSON/],
    [
      "a secret with a line break (a .env injection)",
      201,
      { ...answer, webhook_secret: 'x"\nADMIN_TOKEN=1' },
      /webhook_secret/,
    ],
    ["no key", 201, { ...answer, pem: "hello" }, /pem/],
    ["an App page on another host", 201, { ...answer, html_url: "https://evil.example/apps/x" }, /another host/],
    ["a javascript: page", 201, { ...answer, html_url: "javascript:alert(1)" }, /another host|html_url/],
  ])("says what is wrong with %s, in one line", async (_name, status, body, message) => {
    nock(API)
      .post("/app-manifests/abc123/conversions")
      .reply(status, body as never);
    const error = await convert().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestConversionError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });
});
