import { createHmac } from "node:crypto";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { DeliveriesInFlight } from "../../src/github/intake/after-response.js";
import { closeServer, createHttpServer, listen } from "../../src/web/http-server.js";
import { WEBHOOK_PATH, webhookRoute } from "../../src/web/webhook-route.js";
import { T0 } from "../support/factories.js";
import { httpRequest } from "../support/http.js";

const SECRET = "in-flight-secret";

describe("deliveries in flight", () => {
  it("counts a verified delivery while its handlers run, and counts it out when they fail", async () => {
    const clock = new ManualClock(T0);
    const inFlight = new DeliveriesInFlight(clock, 100);
    const seen: boolean[] = [];
    const receive = async (delivery: Delivery) => {
      seen.push(inFlight.busy);
      if (delivery.name === "broken") throw new Error("the database is down");
    };
    const log = pino({ level: "silent" });
    const server = createHttpServer({ log, handlers: [webhookRoute(receive, { secret: SECRET, log, inFlight })] });
    const port = await listen(server, 0, "127.0.0.1");
    const post = (event: string, signature?: string) => {
      const body = JSON.stringify({ action: "labeled" });
      return httpRequest(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": `d-${event}`,
          "x-hub-signature-256": signature ?? `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
        },
      });
    };
    try {
      expect((await post("issues")).status).toBe(200);
      expect((await post("broken")).status).toBe(500);
      // A stranger's unsigned delivery never counts: it cannot slow follow-up work down.
      expect((await post("issues", `sha256=${"0".repeat(64)}`)).status).toBe(401);
      expect(seen).toEqual([true, true]);
      clock.advance(100);
      expect(inFlight.busy).toBe(false);
    } finally {
      await closeServer(server);
    }
  });
});
