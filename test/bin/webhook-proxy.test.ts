import { createHmac } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findJobsForTarget } from "../../src/jobs/find-jobs.js";
import { labeled, REPO } from "../fixtures/webhooks.js";
import { openTestDatabase, postgresAvailable, type TestDatabase } from "../support/databases.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { TEST_PRIVATE_KEY } from "../support/github-harness.js";
import { waitUntil } from "../support/processes.js";
import { spawnBin } from "../support/spawn-app.js";

const SECRET = "proxy-test-webhook-secret-0123456789";

describe.runIf(postgresAvailable)(
  "WEBHOOK_PROXY_URL: deliveries from a smee-style channel reach the webhook endpoint",
  () => {
    let database: TestDatabase;
    let github: Awaited<ReturnType<typeof startFakeGitHub>>;
    const listeners: ServerResponse[] = [];
    const channel = createServer((req, res) => {
      if (req.url !== "/channel") {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      res.write(": ready\n\n");
      listeners.push(res);
    });
    const send = (event: Record<string, unknown>) => {
      for (const res of listeners) res.write(`data: ${JSON.stringify(event)}\n\n`);
    };
    beforeAll(async () => {
      database = await openTestDatabase("postgres", { max: 3 });
      github = await startFakeGitHub();
      await new Promise<void>((resolve) => channel.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      for (const res of listeners) res.end();
      channel.closeAllConnections();
      await new Promise<void>((resolve) => channel.close(() => resolve()));
      await github.close();
      await database.close();
    });

    it("a signed delivery on the channel records the job; one with a bad signature is refused like any other", async () => {
      const address = channel.address();
      const port = typeof address === "object" && address ? address.port : 0;
      const web = spawnBin("web", {
        DATABASE_URL: database.url as string,
        PORT: "0",
        HOST: "127.0.0.1",
        APP_ID: "1",
        PRIVATE_KEY: TEST_PRIVATE_KEY,
        WEBHOOK_SECRET: SECRET,
        GITHUB_API_URL: github.url,
        WEBHOOK_PROXY_URL: `http://127.0.0.1:${port}/channel`,
        REDELIVER_FAILED_DELIVERIES: "false",
        SHUTDOWN_DRAIN_SECONDS: "0",
      });
      try {
        await web.waitForLine((l) => String(l.msg).includes("forwarding webhook deliveries"));
        await waitUntil(() => listeners.length > 0, "the proxy to connect", 10_000);
        const body = labeled({ label: "agent:implement", number: 7 }).payload;
        const signature = `sha256=${createHmac("sha256", SECRET).update(JSON.stringify(body)).digest("hex")}`;
        send({
          "x-github-event": "issues",
          "x-github-delivery": "smee-forged",
          "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
          body,
        });
        send({ "x-github-event": "issues", "x-github-delivery": "smee-1", "x-hub-signature-256": signature, body });
        await waitUntil(
          async () => (await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 7 })).length > 0,
          "the forwarded delivery to record a job",
          15_000,
        );
        const jobs = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 7 });
        expect(jobs).toHaveLength(1);
        expect(jobs[0]).toMatchObject({ deliveryId: "smee-1", jobType: "implement" });
        await web.waitForLine((l) => l.deliveryId === "smee-forged" && l.status === 401);
      } finally {
        expect(await web.stop()).toBe(0);
      }
    }, 60_000);
  },
);
