import pino from "pino";
import { ManualClock } from "../../src/clock.js";
import type { Database } from "../../src/db/client.js";
import type { JobRow } from "../../src/db/schema.js";
import type { DeliveriesPort } from "../../src/github/port.js";
import type { SweepDeps } from "../../src/maintenance/sweep-deps.js";
import { T0 } from "./factories.js";

/** Sweep dependencies on a test database and a manual clock; GitHub-side follow-ups are recorded. */
export function makeSweepDeps(db: Database, overrides: Partial<SweepDeps> = {}) {
  const clock = new ManualClock(T0);
  const calls = {
    dispatched: [] as number[],
    synced: [] as number[],
    changed: [] as JobRow[],
    commands: [] as number[],
  };
  const deps: SweepDeps = {
    db,
    clock,
    log: pino({ level: "silent" }),
    settings: { batchSize: 100, timeoutGraceSeconds: 60, stalePendingSeconds: 15, maxHoldDays: 14, retentionDays: 30 },
    dispatch: async (jobId) => {
      calls.dispatched.push(jobId);
    },
    syncComment: async (target) => {
      calls.synced.push(target.targetNumber);
      return "written";
    },
    onJobChanged: async (job) => {
      calls.changed.push(job);
    },
    runCommand: async (row) => {
      calls.commands.push(row.commentId);
    },
    deliveries: null as DeliveriesPort | null,
    ...overrides,
  };
  return { deps, clock, calls };
}
