import { describe, expect, it } from "vitest";
import { DEFAULT_YAML_LIMITS, yamlProblem } from "../../src/config/yaml-check.js";

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: v`).join("\n");

describe("untrusted YAML is read in a worker thread, with a time limit", () => {
  it("a small, plain file passes; a syntax error is left to the caller's parser (line and column)", async () => {
    expect(await yamlProblem('triggers:\n  "agent:implement": implement\n')).toBeNull();
    expect(await yamlProblem("a: [\n")).toBeNull();
  });

  it("too many keys, too deep a nesting and an alias bomb are refused", async () => {
    expect(await yamlProblem(keys(201))).toBe("a mapping has 201 keys; labelrun reads at most 200");
    expect(await yamlProblem("[".repeat(12_000))).toBe("it nests too deeply to read");
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      ...Array.from({ length: 8 }, (_, i) => {
        const prev = i === 0 ? "a" : `l${i - 1}`;
        return `l${i}: &l${i} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join("\n");
    expect(await yamlProblem(bomb)).toBe("it expands too many aliases");
  });

  it("a parse slower than the limit is refused with how long it took", async () => {
    expect(await yamlProblem(keys(150), { ...DEFAULT_YAML_LIMITS, maxParseMs: 0 })).toMatch(
      /^reading it took \d+ ms; labelrun reads only files that take under 0 ms$/,
    );
  });

  it("a 1 MiB file of 100,000 keys (minutes on the event loop) is stopped at the hard limit while the event loop stays free", async () => {
    const huge = keys(100_000);
    expect(huge.length).toBeGreaterThan(950_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = performance.now();
    const problem = await yamlProblem(huge, { ...DEFAULT_YAML_LIMITS, hardTimeoutMs: 500 });
    clearInterval(timer);
    const took = performance.now() - started;
    expect(problem).toBe("reading it took longer than 500 ms; labelrun stopped");
    // Stopped near the limit, not after the parse's seconds; the loop kept running its timers meanwhile.
    expect(took).toBeLessThan(3_000);
    expect(ticks).toBeGreaterThan(took / 20 / 4);
  });
});
