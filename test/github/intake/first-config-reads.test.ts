import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/clock.js";
import type { LabelEvent } from "../../../src/github/intake/events.js";
import { FirstConfigReads } from "../../../src/github/intake/first-config-reads.js";
import { T0 } from "../../support/factories.js";

const label = (repositoryId: number, number: number, name: string) =>
  ({ repositoryId, number, kind: "issue", label: name }) as LabelEvent;

describe("labels waiting for a repository's first config read", () => {
  it("starts one read per repository, keeps each distinct label once and hands them over once", () => {
    const reads = new FirstConfigReads(new ManualClock(T0));
    expect(reads.wait(label(1, 1, "a"))).toBe(true);
    expect(reads.wait(label(1, 2, "a"))).toBe(false);
    expect(reads.wait(label(1, 1, "a"))).toBe(false);
    expect(reads.wait(label(2, 1, "a"))).toBe(true);
    expect(reads.take(1).map((e) => e.number)).toEqual([1, 2]);
    expect(reads.take(1)).toEqual([]);
    // After the read, a label that still finds no config starts another.
    expect(reads.wait(label(1, 3, "b"))).toBe(true);
  });

  it("starts the read again when the first never ran (its task was dropped), keeping what waited", () => {
    const clock = new ManualClock(T0);
    const reads = new FirstConfigReads(clock, 1_000);
    expect(reads.wait(label(1, 1, "a"))).toBe(true);
    clock.advance(999);
    expect(reads.wait(label(1, 2, "a"))).toBe(false);
    clock.advance(2);
    expect(reads.wait(label(1, 3, "a"))).toBe(true);
    expect(reads.wait(label(1, 4, "a"))).toBe(false);
    expect(reads.take(1).map((e) => e.number)).toEqual([1, 2, 3, 4]);
  });

  it("holds at most its limit of labels for a repository under a flood", () => {
    const reads = new FirstConfigReads(new ManualClock(T0), 60_000, 10);
    for (let n = 0; n < 10_000; n++) reads.wait(label(1, n, "x"));
    expect(reads.take(1)).toHaveLength(10);
  });
});
