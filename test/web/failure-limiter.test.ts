import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { FailureLimiter } from "../../src/web/failure-limiter.js";

const policy = {
  freeFailures: 2,
  baseDelayMs: 100,
  maxDelayMs: 400,
  maxWaitMs: 1_000,
  forgetAfterMs: 60_000,
  maxKeys: 3,
};

describe("the slow-down for failed sign-ins", () => {
  it("lets a few failures through, then each waits its turn, longer each time, and refuses a wait too long", async () => {
    const clock = new ManualClock();
    const waits: number[] = [];
    const limiter = new FailureLimiter(clock, policy, async (ms) => {
      waits.push(ms);
    });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await limiter.failed("203.0.113.9"));
    // Two free; then turns at +100, +300 (100 + 200), +700 (…+400), +1100 would pass the 1 s cap.
    expect(waits).toEqual([100, 300, 700]);
    expect(results).toEqual([true, true, true, true, true, false, false]);
    // Another address is not slowed by this one.
    expect(await limiter.failed("198.51.100.1")).toBe(true);
    // Failures are forgotten after a quiet while.
    clock.advance(61_000);
    waits.length = 0;
    expect(await limiter.failed("203.0.113.9")).toBe(true);
    expect(waits).toEqual([]);
  });

  it("remembers a bounded number of addresses, forgetting the oldest", async () => {
    const limiter = new FailureLimiter(new ManualClock(), policy, async () => {});
    for (let i = 0; i < 50; i++) await limiter.failed(`10.0.0.${i}`);
    expect(limiter.size).toBe(3);
  });
});
