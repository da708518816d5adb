import { describe, expect, it } from "vitest";
import type { WorkerRow } from "../../src/db/schema.js";
import { noWorkerReason } from "../../src/jobs/worker-availability.js";

const worker = (workerId: string, runs: string[], refuses: Record<string, string> = {}): WorkerRow => ({
  workerId,
  host: "h",
  runs,
  refuses,
  startedAt: new Date(0),
  seenAt: new Date(0),
});

describe("whether an online worker can run a job type", () => {
  it.each([
    [[], "no worker is online"],
    [[worker("a", ["implement"])], null],
    [[worker("a", []), worker("b", ["implement"])], null],
    [[worker("a", [], { implement: "no bubblewrap" })], "no online worker can run `implement` jobs: no bubblewrap"],
    [
      [worker("a", [], { implement: "no bubblewrap" }), worker("b", [], { implement: "no bubblewrap" })],
      "no online worker can run `implement` jobs: no bubblewrap",
    ],
    [[worker("a", ["review"])], "no online worker can run `implement` jobs"],
  ] as Array<[WorkerRow[], string | null]>)("%j → %s", (online, reason) => {
    expect(noWorkerReason(online, "implement")).toBe(reason);
  });
});
