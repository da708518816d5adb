import { describe, expect, it } from "vitest";
import { coerceError } from "../../src/errors.js";

describe("coerceError: whatever was thrown, an Error with a message and the original as its cause", () => {
  it.each([
    ["an Error", new TypeError("boom"), "boom"],
    ["a string", "plain words", "plain words"],
    ["an object", { status: 500 }, '{"status":500}'],
    ["undefined", undefined, "undefined"],
    ["null", null, "null"],
    ["a BigInt (JSON cannot)", 10n, "10"],
  ])("%s", (_name, thrown, message) => {
    const error = coerceError(thrown);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(message);
    if (!(thrown instanceof Error)) expect(error.cause).toBe(thrown);
    else expect(error).toBe(thrown);
  });

  it("an object that cannot be serialised (a cycle) still gives a message", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(coerceError(cyclic).message).toBe("[object Object]");
  });
});
