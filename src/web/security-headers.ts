/**
 * Headers on every HTML answer (pages, the board's live fragments, the setup
 * page): scripts only from this server's own files (no inline script, so a
 * stranger's text that slipped into a page could not run), no `<base>`, forms
 * only to `formAction`, never framed.
 */
export function htmlSecurityHeaders(formAction = "'self'"): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self'",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      `form-action ${formAction}`,
      "frame-ancestors 'none'",
      // What the policy blocks is reported (src/web/csp-report.ts): an attempt is seen, not only stopped.
      "report-uri /csp-report",
    ].join("; "),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
  };
}
