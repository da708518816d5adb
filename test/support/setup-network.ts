import nock from "nock";
import { afterEach, beforeAll, expect } from "vitest";

/** Requests to GitHub (any non-loopback host) that no test declared. */
const unexpected: string[] = [];

// Nothing in the suite may reach the real network: GitHub is nock, everything
// else is loopback.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith("127.0.0.1") || host.startsWith("localhost"));
  nock.emitter.on(
    "no match",
    (request: { method?: string; host?: string; hostname?: string; path?: string; url?: string }) => {
      const where = request.url ?? `${request.host ?? request.hostname ?? ""}${request.path ?? ""}`;
      if (/\/\/(127\.0\.0\.1|localhost)[:/]/.test(where) || /^(127\.0\.0\.1|localhost)/.test(where)) return;
      unexpected.push(`${request.method ?? "?"} ${where}`);
    },
  );
});

// A test that declared a GitHub request and did not make it fails here, and so
// does one whose code made a request it did not declare (even one whose failure
// the code swallowed, like a status comment edit).
afterEach(() => {
  const pending = nock.pendingMocks();
  const surprises = unexpected.splice(0);
  nock.cleanAll();
  expect(pending, "GitHub requests the test expected but the code never made").toEqual([]);
  expect(surprises, "GitHub requests the code made that the test did not declare").toEqual([]);
});
