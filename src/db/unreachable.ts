/** postgres.js's own codes for a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * PostgreSQL's answers that mean no statement can run now, whatever it is: the
 * connection failed (class 08), the server is shutting down or starting
 * (57P01–57P03), the database is gone (3D000), no connection slot is free
 * (53300), or the login was refused (28000, 28P01).
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const SERVER_CODES = new Set(["57P01", "57P02", "57P03", "3D000", "53300", "28000", "28P01"]);

/**
 * Whether an error (or one it was caused by: drizzle wraps the driver's) says
 * the database cannot be reached at all, rather than that one statement failed.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && typeof cause === "object" && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith("08")))
      return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
