import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labeled } from "../fixtures/webhooks.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { startGitHttpServer } from "../support/git-http-server.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { postDelivery } from "../support/http.js";
import { spawnBin } from "../support/spawn-app.js";

const SECRET = "wrapper-e2e-secret";
const STANDINS = resolve("test/fixtures/agents/standins");

// The Claude Code wrapper as an operator would run it: `npm start`, a job type pointing at
// examples/agents/claude-code.mjs, inside bubblewrap (the stand-in CLI in place of `claude`).
describe.runIf(existsSync("/usr/bin/bwrap") || process.env.CI)(
  "a real coding-agent wrapper in the sandbox, end to end",
  () => {
    let github: Awaited<ReturnType<typeof startFakeGitHub>>;
    let git: Awaited<ReturnType<typeof startGitHttpServer>>;
    const repos = makeBareRepository("Codertocat/Hello-World");
    beforeAll(async () => {
      github = await startFakeGitHub();
      git = await startGitHttpServer(repos.base, (token) => token.startsWith("ghs_fake_"));
    });
    afterAll(async () => {
      await git.close();
      await github.close();
    });

    it("a labelled issue becomes a pushed branch and a pull request, and the comment links it", async () => {
      const home = mkdtempSync(join(tmpdir(), "labelrun-wrapper-e2e-"));
      const config = join(home, "labelrun.config.yml");
      writeFileSync(
        config,
        `job_types:
  implement:
    command: ["node", "${resolve("examples/agents/claude-code.mjs")}", "--max-budget-usd", "1"]
    label: "agent:implement"
    mounts: ["${resolve("examples/agents")}", "${STANDINS}"]
    # The test's git server and fake GitHub are on loopback; a real one needs \`full\`.
    network: host
    permissions: { contents: write, pull_requests: write, metadata: read }
`,
      );
      const app = spawnBin("start", {
        PORT: "0",
        HOST: "127.0.0.1",
        PATH: `${STANDINS}:${process.env.PATH}`,
        LABELRUN_DATA_DIR: join(home, ".data"),
        LABELRUN_CONFIG: config,
        APP_ID: "1",
        PRIVATE_KEY: TEST_PRIVATE_KEY,
        WEBHOOK_SECRET: SECRET,
        GITHUB_API_URL: github.url,
        CLONE_BASE_URL: git.url,
        POLL_INTERVAL_SECONDS: "1",
        REDELIVER_FAILED_DELIVERIES: "false",
      });
      try {
        const listening = await app.waitForLine((l) => typeof l.port === "number" && l.port > 0);
        const response = await postDelivery(`http://127.0.0.1:${listening.port}`, {
          event: "issues",
          id: "wrapper-e2e-1",
          payload: labeled({ label: "agent:implement" }).payload,
          secret: SECRET,
        });
        expect(response.status).toBe(200);
        const ended = () => github.commentWrites().find((body) => /— (completed|failed)/.test(body));
        for (const started = Date.now(); !ended(); ) {
          if (Date.now() - started > 60_000) throw new Error(`the job did not end:\n${app.output()}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        const comment = String(ended());
        // Its result is a pull request of the repository: the comment says it awaits review.
        expect(comment, app.output()).toContain("👀 `implement` — completed, awaiting review");
        expect(comment).toContain("https://github.com/Codertocat/Hello-World/pull/40");
        const created = github.requests.find((r) => r.method === "POST" && r.path.endsWith("/pulls"));
        expect(created?.body).toMatchObject({ head: "labelrun/implement-1", base: "main" });
        expect(String(created?.body?.body)).toContain("Closes #1.");
        const pushed = execFileSync("git", ["show", "labelrun/implement-1:README.md"], {
          cwd: join(repos.base, "Codertocat/Hello-World.git"),
        }).toString();
        expect(pushed).toContain("Hello (fixed");
      } finally {
        expect(await app.stop()).toBe(0);
      }
    }, 90_000);
  },
);
