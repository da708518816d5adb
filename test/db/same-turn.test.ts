import { describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client.js";
import { SameTurn } from "../../src/db/same-turn.js";

const databases = () => [{} as Database, {} as Database] as const;

describe("SameTurn", () => {
  it("sends the requests of one turn to one database together, and each caller gets its own answer", async () => {
    const sent: Array<[Database, number[]]> = [];
    const together = new SameTurn<number, number>((db, batch) => {
      sent.push([db, batch.map((entry) => entry.request)]);
      for (const entry of batch) entry.answer(Promise.resolve(entry.request * 10));
    });
    const [a, b] = databases();
    const first = await Promise.all([together.add(a, 1), together.add(b, 2), together.add(a, 3)]);
    const next = await together.add(a, 4);
    expect(first).toEqual([10, 20, 30]);
    expect(next).toBe(40);
    expect(sent).toEqual([
      [a, [1, 3]],
      [b, [2]],
      [a, [4]],
    ]);
  });

  it("tells whether a matching request waits for the next batch, until it is sent", async () => {
    const together = new SameTurn<number, number>((_db, batch) => {
      for (const entry of batch) entry.answer(Promise.resolve(entry.request));
    });
    const [a, b] = databases();
    const waiting = together.add(a, 7);
    expect(together.some(a, (request) => request === 7)).toBe(true);
    expect(together.some(b, (request) => request === 7)).toBe(false);
    await waiting;
    expect(together.some(a, (request) => request === 7)).toBe(false);
  });

  it("a batch whose send throws fails each of its callers instead of leaving them waiting", async () => {
    const together = new SameTurn<number, number>(() => {
      throw new Error("cannot send");
    });
    const [a] = databases();
    const results = await Promise.allSettled([together.add(a, 1), together.add(a, 2)]);
    expect(results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : r.status))).toEqual([
      "cannot send",
      "cannot send",
    ]);
  });
});
