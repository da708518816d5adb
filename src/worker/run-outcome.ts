import type { FailureCode } from "../jobs/states.js";
import type { JobPatch } from "../jobs/transition-job.js";
import { agentFailureCode, type ParsedResult } from "./agent-result.js";
import type { ProcessOutcome } from "./run-process.js";

/** How a run ends, before the max-attempts rule turns a deferral into abandonment. */
export type RunOutcome =
  | { to: "completed"; patch: JobPatch }
  | { to: "failed"; code: FailureCode; message: string; patch?: JobPatch }
  | { to: "deferred"; code: FailureCode; message: string; retryAfterMs: number | null }
  /** The agent asked a question: held until a person answers; the attempt is not spent. */
  | { to: "awaiting_input"; question: string }
  /** The job was taken from this worker (cancelled, timed out by the sweep): leave it as it is. */
  | { to: null; message: string };

/** What the sandbox's launcher exits with when the command cannot be found or executed. */
const EXIT_NOT_FOUND = 127;

/** EX_TEMPFAIL from sysexits.h: "try again later". */
export const EXIT_TEMPFAIL = 75;

/**
 * The agent protocol's decision table: the result file first, then the exit
 * status. `lastLines` is the tail of the log, quoted in failure messages.
 */
export function decideRunOutcome(params: {
  process: ProcessOutcome;
  result: ParsedResult;
  timeoutMinutes: number;
  lostClaim: boolean;
  shuttingDown: boolean;
  /** Set when the worker stopped the agent for going over a limit it watches (the workspace's size). */
  overLimit?: string | null;
  /** Set when the sandbox could not be set up, even after trying again: the job runs again later. */
  setupFailure?: string | null;
  /** The agent's last `::cost::` report, and set when the worker stopped it for passing the job type's cap. */
  reportedCostUsd?: number | null;
  overBudget?: { costUsd: number; capUsd: number } | null;
  /** The sandbox's limits in words, named when an agent dies without a result (null: not sandboxed). */
  limits?: string | null;
  lastLines: readonly string[];
}): RunOutcome {
  const { process, result } = params;
  if (params.lostClaim) return { to: null, message: "the job was taken from this worker (cancelled or timed out)" };
  if (params.setupFailure) {
    return {
      to: "deferred",
      code: "AGENT_ERROR",
      message: `${params.setupFailure} on this worker; the job will run again`,
      retryAfterMs: null,
    };
  }
  if (params.overBudget) {
    const { costUsd, capUsd } = params.overBudget;
    return {
      to: "failed",
      code: "BUDGET_EXCEEDED",
      message: `the agent reported spending $${costUsd.toFixed(2)}, past the job type's cap of $${capUsd.toFixed(2)} (max_cost_usd); it was stopped`,
      patch: { costUsd },
    };
  }
  if (params.overLimit) {
    return { to: "failed", code: "AGENT_ERROR", message: `the agent was stopped: ${params.overLimit}` };
  }
  if (process.stoppedBy === "timeout") {
    return {
      to: "failed",
      code: "TIMEOUT",
      message: `ran past its time limit of ${params.timeoutMinutes} minutes; its process group was stopped`,
    };
  }
  if (process.stoppedBy === "abort" && params.shuttingDown) {
    return {
      to: "deferred",
      code: "WORKER_LOST",
      message: "the worker shut down before the agent finished; the job will run again",
      retryAfterMs: 5_000,
    };
  }
  if (process.spawnError) {
    return { to: "failed", code: "AGENT_ERROR", message: `the command could not start: ${process.spawnError.message}` };
  }
  const usage = (r: { cost_usd?: number; input_tokens?: number; output_tokens?: number }): JobPatch => ({
    // The result's own figure, else what the agent last reported on the way.
    costUsd: r.cost_usd ?? params.reportedCostUsd ?? null,
    inputTokens: r.input_tokens ?? null,
    outputTokens: r.output_tokens ?? null,
  });
  if (result.kind === "ok") {
    const r = result.result;
    if (r.status === "completed") {
      return {
        to: "completed",
        patch: { ...usage(r), resultUrl: r.result_url ?? null, resultSummary: r.summary ?? null },
      };
    }
    if (r.status === "needs_input") return { to: "awaiting_input", question: r.question };
    if (r.status === "failed") {
      const code = agentFailureCode(r.code);
      const named =
        r.code && code === "AGENT_ERROR" && r.code !== "AGENT_ERROR" ? ` (the agent said \`${r.code}\`)` : "";
      return { to: "failed", code, message: `${r.message ?? "the agent reported a failure"}${named}`, patch: usage(r) };
    }
    return {
      to: "deferred",
      code: "AGENT_ERROR",
      message: r.message ?? "the agent asked to run again later",
      retryAfterMs: r.retry_after_seconds !== undefined ? r.retry_after_seconds * 1000 : null,
    };
  }
  if (result.kind === "invalid") return { to: "failed", code: "NO_OUTPUT", message: result.problem };
  const status = process.exitCode ?? process.signal ?? "unknown";
  if (process.exitCode === 0) {
    return {
      to: "failed",
      code: "NO_OUTPUT",
      message: "the agent exited 0 without writing a result to LABELRUN_RESULT",
    };
  }
  if (process.exitCode === EXIT_TEMPFAIL) {
    return {
      to: "deferred",
      code: "AGENT_ERROR",
      message: "the agent exited 75 (try again later)",
      retryAfterMs: null,
    };
  }
  const tail = params.lastLines.length ? `; last lines:\n${params.lastLines.join("\n")}` : "";
  if (params.limits && process.exitCode === EXIT_NOT_FOUND) {
    return {
      to: "failed",
      code: "AGENT_ERROR",
      message: `the command could not start in the sandbox (not found or not executable there: give its files to \`mounts\`)${tail}`,
    };
  }
  const limit = signalLimit(process.signal);
  const limits = params.limits ? `; the sandbox's limits: ${params.limits}` : "";
  return {
    to: "failed",
    code: "AGENT_ERROR",
    message: `the agent exited with status ${status} without a result${limit}${limits}${tail}`,
  };
}

/** The kernel's word for a process that met a resource limit. */
function signalLimit(signal: NodeJS.Signals | null): string {
  if (signal === "SIGXCPU") return " (it used up its CPU time limit)";
  if (signal === "SIGXFSZ") return " (it wrote a file over the file size limit)";
  return "";
}
