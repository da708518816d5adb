import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { neutralize } from "../github/status-comment/neutralize.js";
import { type Handler, pathOf } from "./http-server.js";

/** Where browsers report what the pages' Content-Security-Policy blocked (`report-uri`). */
export const CSP_REPORT_PATH = "/csp-report";
/** A report is a few hundred bytes; anything larger is not a browser's report. */
const MAX_REPORT_BYTES = 8 * 1024;
/** Reports logged per minute at most (per process): a page under attack, or a stranger posting, cannot flood the log. */
const REPORTS_PER_MINUTE = 30;

/**
 * `POST /csp-report`: a blocked script (say, a `javascript:` link a stranger
 * got into a page) is one `warn` line with the page, the directive and what
 * was blocked — the operator learns of the attempt. Unauthenticated (browsers
 * send reports on their own), so it reads at most 8 KiB, logs at most 30 a
 * minute, and answers 204 to anything, malformed or not.
 */
export function cspReportRoute(log: Logger, now: () => number = Date.now): Handler {
  let windowStart = 0;
  let logged = 0;
  let dropped = 0;
  return async (req, res) => {
    if (pathOf(req) !== CSP_REPORT_PATH) return false;
    const done = (status: number) => {
      res.writeHead(status, { "cache-control": "no-store", connection: "close" });
      res.end();
    };
    if (req.method !== "POST") {
      done(405);
      return true;
    }
    const body = await readAtMost(req, MAX_REPORT_BYTES);
    if (body === null) {
      done(413);
      return true;
    }
    const report = parseReport(body);
    if (report) {
      const t = now();
      if (t - windowStart >= 60_000) {
        if (dropped) log.warn({ dropped }, "CSP violation reports dropped (over 30 a minute)");
        windowStart = t;
        logged = 0;
        dropped = 0;
      }
      if (logged < REPORTS_PER_MINUTE) {
        logged++;
        log.warn(report, "the browser blocked something on a page (Content-Security-Policy)");
      } else dropped++;
    }
    done(204);
    return true;
  };
}

function readAtMost(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        req.removeAllListeners("data");
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(total > max ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(null));
  });
}

/** The fields worth a log line, each cut short and made inert; null when it is not a report. */
function parseReport(body: string): Record<string, string> | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const report = (value as { "csp-report"?: Record<string, unknown> } | null)?.["csp-report"];
  if (typeof report !== "object" || report === null) return null;
  const field = (name: string) => (typeof report[name] === "string" ? neutralize(report[name] as string, 200) : "");
  return {
    page: field("document-uri"),
    directive: field("effective-directive") || field("violated-directive"),
    blocked: field("blocked-uri"),
  };
}
