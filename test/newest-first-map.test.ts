import { describe, expect, it } from "vitest";
import { setNewest } from "../src/newest-first-map.js";

describe("a bounded map that forgets its oldest entries", () => {
  it("keeps at most max entries, a key set again counts as newest, and the oldest go first", () => {
    const map = new Map<string, number>();
    for (const key of ["a", "b", "c"]) setNewest(map, key, 1, 3);
    setNewest(map, "a", 2, 3);
    setNewest(map, "d", 1, 3);
    expect([...map.entries()]).toEqual([
      ["c", 1],
      ["a", 2],
      ["d", 1],
    ]);
    for (let n = 0; n < 10_000; n++) setNewest(map, `k${n}`, n, 3);
    expect([...map.keys()]).toEqual(["k9997", "k9998", "k9999"]);
  });
});
