import nock from "nock";
import { afterEach, beforeAll, expect } from "vitest";

// Nothing in the suite may reach the real network: GitHub is nock, everything
// else is loopback.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith("127.0.0.1") || host.startsWith("localhost"));
});

// A test that declared a GitHub request and did not make it fails here.
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, "GitHub requests the test expected but the code never made").toEqual([]);
});
