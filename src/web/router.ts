import type { IncomingMessage, ServerResponse } from "node:http";
import type { Handler } from "./http-server.js";
import { pathOf, sendJson } from "./http-server.js";

export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string>,
  url: URL,
) => void | Promise<void>;

/** A small method + path router: `/api/jobs/:id` style patterns, first match wins. */
export function router(routes: ReadonlyArray<[method: string, pattern: string, handler: RouteHandler]>): Handler {
  const compiled = routes.map(([method, pattern, handler]) => {
    const names: string[] = [];
    // `:name` matches one segment; `:name(a|b)` only those words.
    const source = pattern.replace(/:(\w+)(\([^)]*\))?/g, (_, name: string, choices?: string) => {
      names.push(name);
      return choices ?? "([^/]+)";
    });
    return { method, regex: new RegExp(`^${source}$`), names, handler };
  });
  return async (req, res) => {
    const path = pathOf(req);
    for (const route of compiled) {
      if (route.method !== req.method) continue;
      const match = route.regex.exec(path);
      if (!match) continue;
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]));
      } catch {
        // A malformed escape (`%E0%A4%A`) in a path a stranger typed: a 400, not a 500.
        sendJson(res, 400, { error: { code: "bad_request", message: "the path has a malformed %-escape" } });
        return true;
      }
      await route.handler(req, res, params, new URL(req.url ?? "/", "http://localhost"));
      return true;
    }
    return false;
  };
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
