import { describe, expect, it } from "vitest";
import {
  type RunEnd,
  type RunState,
  settleDispatchTrouble,
  settleDue,
  settleHoldExpired,
  settleRateLimitedWait,
  settleRun,
  settleTimeout,
} from "../../src/jobs/settle-policy.js";

const NOW = new Date("2026-03-01T12:00:00Z");
const at = (ms: number) => new Date(NOW.getTime() + ms);
const first: RunState = { attempt: 1, maxAttempts: 3, pauseRequested: false };
const last: RunState = { attempt: 3, maxAttempts: 3, pauseRequested: false };
const pausing = (state: RunState): RunState => ({ ...state, pauseRequested: true });
const RETRY: RunEnd = { kind: "retry", code: "AGENT_ERROR", message: "exit 75", retryAfterMs: null };
const SHUTDOWN: RunEnd = { kind: "shutdown", message: "the worker shut down" };
const LOST: RunEnd = { kind: "worker_lost", message: "no heartbeat" };
const LIMITED: RunEnd = { kind: "rate_limited", message: "quota", retryAt: at(27_000) };

describe("settleRun: how a run ends, one row per case", () => {
  it.each<[string, RunState, RunEnd, Record<string, unknown>]>([
    ["completed", first, { kind: "completed" }, { to: "completed", code: null, patch: { pauseRequested: false } }],
    ["completed on the last attempt, a pause asked for", pausing(last), { kind: "completed" }, { to: "completed" }],
    ["failed", first, { kind: "failed", code: "NO_OUTPUT", message: "none" }, { to: "failed", code: "NO_OUTPUT" }],
    [
      "failed with a pause asked for: still failed",
      pausing(first),
      { kind: "failed", code: "TIMEOUT", message: "late" },
      { to: "failed", code: "TIMEOUT" },
    ],
    [
      "access revoked → abandoned",
      first,
      { kind: "failed", code: "ACCESS_REVOKED", message: "401" },
      { to: "abandoned", code: "ACCESS_REVOKED" },
    ],
    [
      "retry, attempts left → deferred with backoff",
      first,
      RETRY,
      { to: "deferred", code: "AGENT_ERROR", patch: { runAfter: at(30_000) } },
    ],
    [
      "retry with the agent's own delay",
      first,
      { ...RETRY, retryAfterMs: 5_000 } as RunEnd,
      { to: "deferred", patch: { runAfter: at(5_000) } },
    ],
    [
      "retry on the last attempt → abandoned MAX_ATTEMPTS",
      last,
      RETRY,
      { to: "abandoned", code: "MAX_ATTEMPTS", message: "gave up after 3 attempts; the last one: exit 75" },
    ],
    [
      "retry with a pause asked for → held paused",
      pausing(first),
      RETRY,
      { to: "deferred", patch: { hold: "paused", pauseRequested: false, runAfter: null } },
    ],
    [
      "retry on the last attempt with a pause asked for → held, not abandoned",
      pausing(last),
      RETRY,
      { to: "deferred", patch: { hold: "paused" } },
    ],
    [
      "graceful shutdown → deferred WORKER_LOST in 5 s, the attempt given back",
      first,
      SHUTDOWN,
      { to: "deferred", code: "WORKER_LOST", patch: { attempt: 0, runAfter: at(5_000) } },
    ],
    [
      "graceful shutdown on the last attempt → handed back, not abandoned",
      last,
      SHUTDOWN,
      { to: "deferred", code: "WORKER_LOST", patch: { attempt: 2 } },
    ],
    [
      "graceful shutdown with a pause asked for → held, the attempt given back",
      pausing(last),
      SHUTDOWN,
      { to: "deferred", patch: { hold: "paused", attempt: 2 } },
    ],
    [
      "worker lost (lease expired) → deferred WORKER_LOST, the run counted",
      first,
      LOST,
      { to: "deferred", code: "WORKER_LOST", patch: { runAfter: NOW } },
    ],
    ["worker lost on the last attempt → abandoned MAX_ATTEMPTS", last, LOST, { to: "abandoned", code: "MAX_ATTEMPTS" }],
    ["worker lost with a pause asked for → held", pausing(last), LOST, { to: "deferred", patch: { hold: "paused" } }],
    [
      "rate limited → deferred until the reset, the attempt given back",
      last,
      LIMITED,
      { to: "deferred", code: "RATE_LIMITED", patch: { runAfter: at(27_000), attempt: 2 } },
    ],
    [
      "needs input → held awaiting input, the attempt given back",
      last,
      { kind: "needs_input", question: "Which?" },
      {
        to: "deferred",
        patch: { hold: "awaiting_input", question: "Which?", questionAskedAt: NOW, attempt: 2, runAfter: null },
      },
    ],
  ])("%s", (_name, state, end, expected) => {
    expect(settleRun(state, end, NOW, () => 0.5)).toMatchObject(expected);
  });
});

describe("the waits' ends", () => {
  it("a due deferred job is queued while attempts are left, abandoned when they are spent", () => {
    expect(settleDue({ attempt: 2, maxAttempts: 3, failureCode: "AGENT_ERROR", failureMessage: "x" })).toMatchObject({
      to: "queued",
    });
    expect(
      settleDue({ attempt: 3, maxAttempts: 3, failureCode: "AGENT_ERROR", failureMessage: "exit 75" }),
    ).toMatchObject({
      to: "abandoned",
      code: "MAX_ATTEMPTS",
      message: "gave up after 3 attempts; the last one: exit 75",
    });
  });

  it("a handed-back last attempt stays runnable: settleRun then settleDue queue it again", () => {
    const handed = settleRun(last, SHUTDOWN, NOW);
    expect(
      settleDue({
        attempt: handed.patch.attempt ?? 3,
        maxAttempts: 3,
        failureCode: handed.code,
        failureMessage: handed.message,
      }),
    ).toMatchObject({ to: "queued" });
  });

  it("a hold past the limit is abandoned with its own code, not MAX_ATTEMPTS", () => {
    expect(settleHoldExpired({ hold: "awaiting_approval" }, 14)).toMatchObject({
      to: "abandoned",
      code: "HOLD_EXPIRED",
      message: "waited more than 14 days (awaiting approval); abandoned",
    });
  });

  it("a dispatch that met a rate limit waits, deferred, until the reset", () => {
    expect(settleRateLimitedWait("API rate limit exceeded", at(3_600_000))).toMatchObject({
      to: "deferred",
      code: "RATE_LIMITED",
      message: "GitHub's rate limit: API rate limit exceeded",
      patch: { runAfter: at(3_600_000) },
    });
  });

  it("a dispatch in transient trouble waits for the next try, and fails API_ERROR after the tenth", () => {
    expect(settleDispatchTrouble(1, "GitHub answered 502")).toBeNull();
    expect(settleDispatchTrouble(9, "GitHub answered 502")).toBeNull();
    expect(settleDispatchTrouble(10, "GitHub answered 502")).toMatchObject({
      to: "failed",
      code: "API_ERROR",
      message: "could not be dispatched after 10 tries; the last one: GitHub answered 502",
    });
  });

  it("a run past its time limit fails TIMEOUT", () => {
    expect(settleTimeout({ timeoutSeconds: 1800 })).toMatchObject({
      to: "failed",
      code: "TIMEOUT",
      message: expect.stringContaining("30 minutes"),
    });
  });
});
