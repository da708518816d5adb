import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { DeliveryFailedError, type ReceiveDelivery } from "../app.js";
import type { DeliveriesInFlight } from "../github/intake/after-response.js";
import { type Handler, pathOf, sendJson } from "./http-server.js";

/** Where GitHub delivers webhooks. */
export const WEBHOOK_PATH = "/api/github/webhooks";

/** GitHub caps a delivery's payload at 25 MB; anything larger is not from GitHub. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/**
 * Bytes of delivery bodies held at once, across requests, while their
 * signatures are checked: strangers sending many large bodies with a made-up
 * signature get a 503 past it instead of the process's memory.
 */
export const MAX_WEBHOOK_BYTES_IN_FLIGHT = 100 * 1024 * 1024;

/** The error code of each refusal's status (a 401 is a bad signature). */
const REFUSAL_CODES: Record<number, string> = { 413: "too_large", 503: "busy", 415: "not_json", 400: "malformed" };

/**
 * Serves `POST /api/github/webhooks`: the door checks a stranger's request
 * must pass come first — a body over GitHub's 25 MB limit is refused before it
 * is read (by its `Content-Length`, or by counting while it streams), and the
 * signature is verified on the raw bytes before anything parses or logs the
 * payload. A rejected delivery is one `warn` line with its delivery id, event
 * and remote address, never its body. The delivery is answered only after its
 * handlers finished, so a job row is committed before GitHub gets its 200, and
 * a handler error (database down) becomes a 500 that GitHub records as a
 * failed delivery. (Probot's middleware would verify and parse the body a
 * second time and build an authenticated Octokit for every delivery; the
 * signature check here is the same HMAC, done once.)
 */
export function webhookRoute(
  receive: ReceiveDelivery,
  options: {
    secret: string;
    log: Logger;
    maxBytes?: number;
    maxBytesInFlight?: number;
    /** Counts the verified deliveries being handled (follow-up work gives way to them). */
    inFlight?: DeliveriesInFlight;
  },
): Handler {
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const budget = { free: options.maxBytesInFlight ?? MAX_WEBHOOK_BYTES_IN_FLIGHT };
  return async (req, res) => {
    if (pathOf(req) !== WEBHOOK_PATH) return false;
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      sendJson(res, 405, { error: { code: "method_not_allowed", message: "webhook deliveries are POSTed" } });
      return true;
    }
    const who = {
      deliveryId: header(req, "x-github-delivery"),
      event: header(req, "x-github-event"),
      remoteAddress: req.socket.remoteAddress,
    };
    const refuse = (status: number, message: string) => {
      options.log.warn({ ...who, status }, `rejected a webhook delivery: ${message}`);
      // What the client still sends is never read: the connection ends with this answer.
      res.setHeader("connection", "close");
      // Half-close first so the client reads this answer, then cut what it is still sending.
      res.once("finish", () => {
        req.socket.end();
        setTimeout(() => req.socket.destroy(), 5_000).unref();
      });
      const code = REFUSAL_CODES[status] ?? "bad_signature";
      if (status === 503) res.setHeader("retry-after", "10");
      sendJson(res, status, { error: { code, message } });
    };
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBytes) {
      refuse(413, `the body is ${declared} bytes; GitHub sends at most ${maxBytes}`);
      return true;
    }
    const signature = header(req, "x-hub-signature-256");
    if (!signature || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
      refuse(401, "the delivery has no valid x-hub-signature-256 header");
      return true;
    }
    const body = await readCapped(req, maxBytes, budget);
    if (body === "too_large") {
      refuse(413, `the body is over ${maxBytes} bytes; GitHub sends at most that`);
      return true;
    }
    if (body === "busy") {
      refuse(503, "too many large deliveries are being read at once; try again");
      return true;
    }
    if (!signatureMatches(body, signature, options.secret)) {
      refuse(401, "the signature does not match the webhook secret");
      return true;
    }
    if (!/^\s*application\/json\s*(;|$)/i.test(header(req, "content-type") ?? "")) {
      refuse(415, "the content type is not application/json (the App's webhook must send JSON)");
      return true;
    }
    if (!who.deliveryId || !who.event) {
      refuse(400, "the delivery has no x-github-delivery or x-github-event header");
      return true;
    }
    const envelope = readEnvelope(body);
    if (typeof envelope === "string") {
      refuse(400, envelope);
      return true;
    }
    const done = options.inFlight?.start();
    try {
      await receive({ id: who.deliveryId, name: who.event, payload: envelope });
    } catch (error) {
      // What failed is logged by the intake; GitHub's delivery log shows only what happened.
      const failed = (error instanceof AggregateError ? error.errors : [error]).find(
        (e) => e instanceof DeliveryFailedError,
      );
      sendJson(res, 500, {
        error: { code: "delivery_failed", message: failed?.message ?? "internal error; GitHub can redeliver it" },
      });
      if (!failed) options.log.error({ err: error, ...who }, "could not handle a delivery");
      return true;
    } finally {
      done?.();
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("ok\n");
    return true;
  };
}

/**
 * The signed payload, or what is wrong with its envelope: it must be a JSON
 * object, and an installation (when there is one) must have a positive integer
 * id. The rest is the intake's to check (src/github/intake/events.ts).
 */
function readEnvelope(body: Buffer): Record<string, unknown> | string {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return "the body is not JSON";
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return "the body is not a JSON object";
  const installation = (payload as { installation?: unknown }).installation;
  if (installation === undefined || installation === null) return payload as Record<string, unknown>;
  const id = (installation as { id?: unknown }).id;
  if (typeof installation !== "object" || !Number.isSafeInteger(id) || (id as number) <= 0)
    return "installation.id is not a positive integer";
  return payload as Record<string, unknown>;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value.slice(0, 200) : undefined;
}

/**
 * The body, or why it was not read to the end: over `maxBytes`, or over what
 * the shared budget has free. What is read stays bounded either way, and the
 * budget gets its bytes back when this request is done with them.
 */
function readCapped(
  req: IncomingMessage,
  maxBytes: number,
  budget: { free: number },
): Promise<Buffer | "too_large" | "busy"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (why: "too_large" | "busy") => {
      req.off("data", onData);
      req.pause();
      chunks.length = 0;
      budget.free += total;
      resolve(why);
    };
    const onData = (chunk: Buffer) => {
      if (total + chunk.length > maxBytes) return stop("too_large");
      if (chunk.length > budget.free) return stop("busy");
      budget.free -= chunk.length;
      total += chunk.length;
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => {
      budget.free += total;
      resolve(Buffer.concat(chunks, total));
    });
    req.on("error", (error) => {
      budget.free += total;
      reject(error);
    });
  });
}

/** GitHub's `sha256=<hex>` HMAC of the raw body, compared in constant time. */
export function signatureMatches(body: Buffer, signature: string | undefined, secret: string): boolean {
  if (!signature?.startsWith("sha256=")) return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
