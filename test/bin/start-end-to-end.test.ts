import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labeled } from "../fixtures/webhooks.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { postDelivery } from "../support/http.js";
import { spawnBin } from "../support/spawn-app.js";

const SECRET = "end-to-end-secret";

describe("npm start end to end, with the shipped job types and demo agent", () => {
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  const repos = makeBareRepository("Codertocat/Hello-World");
  beforeAll(async () => {
    github = await startFakeGitHub();
  });
  afterAll(async () => {
    await github.close();
  });

  it("a labelled issue gets one comment that follows the demo agent's job to completed, then the label is removed", async () => {
    const app = spawnBin("start", {
      PORT: "0",
      HOST: "127.0.0.1",
      LABELRUN_DATA_DIR: mkdtempSync(join(tmpdir(), "labelrun-e2e-")),
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      GITHUB_API_URL: github.url,
      CLONE_BASE_URL: repos.baseUrl,
      POLL_INTERVAL_SECONDS: "1",
    });
    try {
      const listening = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
      const response = await postDelivery(`http://127.0.0.1:${listening.port}`, {
        event: "issues",
        id: "e2e-1",
        payload: labeled({ label: "agent:implement" }).payload,
        secret: SECRET,
      });
      expect(response.status).toBe(200);
      const removal = "/repos/Codertocat/Hello-World/issues/1/labels/agent%3Aimplement";
      // A demo run ends within the first comment's delay: its one comment may be created completed.
      const completedShown = () => github.commentWrites().some((body) => body.includes("— completed"));
      const removed = () => github.requests.some((r) => r.method === "DELETE" && r.path === removal);
      for (const started = Date.now(); !(removed() && completedShown()); ) {
        if (Date.now() - started > 30_000) throw new Error(`the job did not end:\n${app.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const creates = github.requests.filter((r) => r.method === "POST" && r.path.endsWith("/issues/1/comments"));
      expect(creates).toHaveLength(1);
      const last = String(github.commentWrites().at(-1));
      expect(last).toContain("✅ `implement` — completed");
      expect(last).toContain("Demo run of");
      // The token for the job was scoped to its one repository.
      expect(github.requests.some((r) => Array.isArray(r.body?.repository_ids))).toBe(true);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 60_000);
});
