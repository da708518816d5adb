import type { IncomingMessage, ServerResponse } from "node:http";
import { type Handler, pathOf } from "./http-server.js";

/** Where GitHub delivers webhooks. */
export const WEBHOOK_PATH = "/api/github/webhooks";

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next?: () => void) => unknown;

/**
 * Routes `POST /api/github/webhooks` to Probot's middleware. Probot verifies
 * the signature and answers only after the handlers finished, so a job row
 * is committed before GitHub gets its 2xx, and a handler error (database
 * down) becomes a 5xx that GitHub records as a failed delivery.
 */
export function webhookRoute(middleware: NodeMiddleware): Handler {
  return async (req, res) => {
    if (pathOf(req) !== WEBHOOK_PATH) return false;
    await middleware(req, res, () => {
      if (!res.headersSent) {
        res.writeHead(404);
        res.end();
      }
    });
    return true;
  };
}
