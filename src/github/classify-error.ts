export { coerceError } from "../errors.js";

/**
 * The one table that sorts GitHub (and network) errors into what labelrun
 * does about them. See GitHub's docs on rate limits:
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 */
export type GitHubErrorClass =
  /** Primary or secondary rate limit: wait until `retryAt`. */
  | { kind: "rate_limited"; retryAt: Date; message: string }
  /** Network trouble or a 5xx: try again with backoff. */
  | { kind: "transient"; message: string }
  /** The installation lost access (401, or 403/404 on a revoked installation): abandon. */
  | { kind: "revoked"; message: string }
  /** Any other 4xx: retrying will not help; fail with API_ERROR. */
  | { kind: "permanent"; status: number; message: string };

interface HttpishError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Sorts an unknown error; `now` is the caller's clock (for `retry-after`). */
export function classifyGitHubError(error: unknown, now: Date): GitHubErrorClass {
  const e = (error ?? {}) as HttpishError;
  const status = typeof e.status === "number" ? e.status : undefined;
  const message = describe(e);
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  const remaining = headers["x-ratelimit-remaining"];
  const reset = Number(headers["x-ratelimit-reset"]);
  const secondary = /secondary rate limit|abuse/i.test(message);

  if (status === 429 || (status === 403 && (secondary || String(remaining) === "0" || Number.isFinite(retryAfter)))) {
    let retryAt: Date;
    if (Number.isFinite(retryAfter) && retryAfter >= 0) retryAt = new Date(now.getTime() + retryAfter * 1000);
    else if (String(remaining) === "0" && Number.isFinite(reset)) retryAt = new Date(reset * 1000);
    // A secondary limit without a hint: GitHub asks for at least a minute.
    else retryAt = new Date(now.getTime() + 60_000);
    return { kind: "rate_limited", retryAt, message };
  }
  if (status === undefined || status >= 500 || status === 408) return { kind: "transient", message };
  if (status === 401) return { kind: "revoked", message };
  return { kind: "permanent", status, message };
}

function describe(e: HttpishError): string {
  const data = e.response?.data as { message?: string } | undefined;
  const text = data?.message ?? e.message ?? "unknown error";
  return e.status ? `GitHub answered ${e.status}: ${text}` : text;
}
