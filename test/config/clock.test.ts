import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import type { DatabaseHandle } from "../../src/db/client.js";
import { MaintenanceLoop } from "../../src/maintenance/maintenance-loop.js";
import type { SweepDeps } from "../../src/maintenance/sweep-deps.js";

describe("ManualClock's timers fire as it moves, never on their own", () => {
  it("timeouts fire once in order, intervals repeat at their own times, cancelled ones never", () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now().getTime() % 100_000}`), 2_000);
    clock.setTimeout(() => fired.push(`a@${clock.now().getTime() % 100_000}`), 1_000);
    const every = clock.setInterval(() => fired.push(`tick@${clock.now().getTime() % 100_000}`), 1_500);
    const never = clock.setTimeout(() => fired.push("never"), 500);
    never.cancel();
    expect(fired).toEqual([]);
    clock.advance(3_000);
    expect(fired).toEqual(["a@1000", "tick@1500", "b@2000", "tick@3000"]);
    every.cancel();
    clock.advance(10_000);
    expect(fired).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });
});

describe("the maintenance loop runs on the clock's timers", () => {
  it("ticks at start and every interval as the clock moves, and stop cancels the next one", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    let ticks = 0;
    class Counted extends MaintenanceLoop {
      override async tick() {
        ticks++;
        return null;
      }
    }
    const deps = { clock, log: pino({ level: "silent" }), handle: {} as DatabaseHandle } as unknown as SweepDeps & {
      handle: DatabaseHandle;
    };
    const loop = new Counted(deps, 30_000);
    loop.start();
    expect(ticks).toBe(0);
    clock.advance(0);
    expect(ticks).toBe(1);
    // The next tick is scheduled once this one has settled.
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(29_999);
    expect(ticks).toBe(1);
    clock.advance(1);
    expect(ticks).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    await loop.stop();
    clock.advance(60_000);
    expect(ticks).toBe(2);
    expect(clock.pending).toBe(0);
  });
});
