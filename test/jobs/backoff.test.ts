import { describe, expect, it } from "vitest";
import { backoffDelayMs, MAX_BACKOFF_MS } from "../../src/jobs/backoff.js";

describe("backoff between attempts", () => {
  it("doubles from 30 seconds with ±20 % jitter and never exceeds 60 minutes", () => {
    expect(backoffDelayMs(1, () => 0.5)).toBe(30_000);
    expect(backoffDelayMs(2, () => 0.5)).toBe(60_000);
    expect(backoffDelayMs(3, () => 0)).toBe(96_000);
    expect(backoffDelayMs(3, () => 1)).toBe(144_000);
    expect(backoffDelayMs(30, () => 1)).toBe(MAX_BACKOFF_MS);
  });
});
