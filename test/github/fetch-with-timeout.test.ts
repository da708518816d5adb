import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { fetchWithTimeout } from "../../src/github/fetch-with-timeout.js";

describe("GitHub requests have a deadline", () => {
  it("a request that never answers fails after the deadline instead of hanging", async () => {
    const server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const started = Date.now();
    try {
      // A GET without a body: nock 15.0.0 lets loopback GETs through (only POSTs with a body break).
      await expect(fetchWithTimeout(200)(`http://127.0.0.1:${port}/`)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("keeps the caller's own abort signal working", async () => {
    const controller = new AbortController();
    controller.abort();
    let seen: AbortSignal | undefined;
    const base = (async (_input: unknown, init?: RequestInit) => {
      seen = init?.signal ?? undefined;
      return new Response("ok");
    }) as typeof fetch;
    await fetchWithTimeout(1000, base)("https://api.github.com/", { signal: controller.signal });
    expect(seen?.aborted).toBe(true);
  });
});
