import { createHmac } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { labeled } from "../fixtures/webhooks.js";
import { openTestDatabase, postgresAvailable } from "../support/databases.js";
import { TEST_PRIVATE_KEY, WEBHOOK_SECRET } from "../support/github-harness.js";
import { httpRequest } from "../support/http.js";
import { spawnBin } from "../support/spawn-app.js";

describe.runIf(postgresAvailable)("stopping the web process", () => {
  it("does not wait on follow-up work that hangs (a comment GitHub never answers): it stops, leaving it to the sweep", async () => {
    // GitHub that answers tokens and config reads, and never answers anything else.
    const hanging: ServerResponse[] = [];
    const asked: string[] = [];
    const github = createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      if (req.method === "POST" && /access_tokens$/.test(req.url ?? "")) {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" }));
      } else if (req.url?.includes("/contents/")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "Not Found" }));
      } else hanging.push(res);
    });
    await new Promise<void>((resolve) => github.listen(0, "127.0.0.1", resolve));
    const address = github.address();
    const database = await openTestDatabase("postgres");
    const web = spawnBin("web", {
      DATABASE_URL: database.url as string,
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET,
      GITHUB_API_URL: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
      PORT: "0",
      SHUTDOWN_DRAIN_SECONDS: "0",
      MAINTENANCE_INTERVAL_SECONDS: "3600",
      REDELIVER_FAILED_DELIVERIES: "false",
    });
    try {
      const listening = await web.waitForLine((line) => typeof line.port === "number" && line.port > 0);
      const event = labeled({ label: "agent:implement" });
      event.payload.issue.updated_at = new Date().toISOString();
      const body = JSON.stringify(event.payload);
      const answer = await httpRequest(`http://127.0.0.1:${listening.port}/api/github/webhooks`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": "shutdown-1",
          "x-hub-signature-256": `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`,
        },
      });
      expect(answer.status).toBe(200);
      // The job was dispatched and its status comment is being posted: GitHub holds the request.
      for (const started = Date.now(); !asked.some((a) => a.startsWith("POST") && a.endsWith("/comments")); ) {
        if (Date.now() - started > 15_000) throw new Error(`no comment was posted: ${asked.join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Before: the stop waited for the request's own 30 s deadline (and for every paced comment after it).
      const code = await Promise.race([
        web.stop("SIGTERM"),
        new Promise((r) => setTimeout(() => r("still running"), 20_000)),
      ]);
      expect(code, web.output()).toBe(0);
      expect(web.lines.some((line) => String(line.msg).startsWith("stopping with follow-up work unfinished"))).toBe(
        true,
      );
    } finally {
      web.child.kill("SIGKILL");
      for (const res of hanging) res.destroy();
      github.close();
      github.closeAllConnections();
      await database.close();
    }
  }, 60_000);
});
