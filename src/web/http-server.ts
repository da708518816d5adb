import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";

/** Probot's handler shape: answer and return true, or return false to pass. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface HttpServerOptions {
  handlers: readonly Handler[];
  log: Logger;
  /** Deadlines for a client: all headers, the whole request, an idle keep-alive connection (ms). */
  timeouts?: { headers: number; request: number; keepAlive: number };
}

/** A slow client (headers trickled in, a body that never ends) is cut off, not waited on for Node's 300 s. */
const TIMEOUTS = { headers: 10_000, request: 60_000, keepAlive: 5_000 };

/**
 * One HTTP server for webhooks, dashboard, API and health: each request goes
 * to the first handler that answers it, else 404. A handler that throws gets
 * a 500 and one log line; the process keeps serving.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const timeouts = options.timeouts ?? TIMEOUTS;
  const server = createServer(
    {
      headersTimeout: timeouts.headers,
      requestTimeout: timeouts.request,
      keepAliveTimeout: timeouts.keepAlive,
      // How often Node checks those deadlines (its default is 30 s).
      connectionsCheckingInterval: Math.min(1_000, timeouts.headers),
    },
    async (req, res) => {
      try {
        for (const handler of options.handlers) {
          if (await handler(req, res)) return;
        }
        sendJson(res, 404, { error: { code: "not_found", message: `no route for ${req.method} ${pathOf(req)}` } });
      } catch (error) {
        options.log.error({ err: error, method: req.method, path: pathOf(req) }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
        else res.end();
      }
    },
  );
  return server;
}

export function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://localhost").pathname;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

/** Starts listening and resolves with the bound port (0 picks a free one). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
