import { z } from "zod";
import { coerceError } from "../errors.js";
import { FAILURE_CODES, type FailureCode } from "../jobs/states.js";
import { cleanAgentValue } from "./agent-text.js";
import type { ResultFile } from "./read-result-file.js";

/**
 * What the agent writes to `LABELRUN_RESULT`: one JSON object.
 * - `{"status":"completed","result_url":…,"summary":…,"cost_usd":…,"input_tokens":…,"output_tokens":…}`
 * - `{"status":"failed","code":"BUDGET_EXCEEDED","message":…}`
 * - `{"status":"deferred","retry_after_seconds":600,"message":…}`
 * - `{"status":"needs_input","question":…}`: a person answers on the issue, then it runs again
 */
export const agentResultSchema = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("completed"),
    /** Only an https URL: the board and the comment link it. */
    result_url: z
      .url({ protocol: /^https$/, hostname: z.regexes.domain })
      .max(2_000)
      .optional(),
    summary: z.string().max(10_000).optional(),
    cost_usd: z.number().nonnegative().optional(),
    input_tokens: z.number().int().nonnegative().optional(),
    output_tokens: z.number().int().nonnegative().optional(),
  }),
  z.object({
    status: z.literal("failed"),
    code: z.string().optional(),
    message: z.string().max(10_000).optional(),
    cost_usd: z.number().nonnegative().optional(),
    input_tokens: z.number().int().nonnegative().optional(),
    output_tokens: z.number().int().nonnegative().optional(),
  }),
  z.object({
    status: z.literal("needs_input"),
    question: z.string().min(1).max(20_000),
  }),
  z.object({
    status: z.literal("deferred"),
    retry_after_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional(),
    message: z.string().max(10_000).optional(),
  }),
]);
export type AgentResult = z.infer<typeof agentResultSchema>;

export type ParsedResult =
  | { kind: "none" }
  | { kind: "invalid"; problem: string }
  | { kind: "ok"; result: AgentResult };

/**
 * Reads the result file (see `readResultFile`). Garbage is a problem, never a
 * crash, and a problem never quotes the file (it could be anything the agent
 * could point at). Every string in it is passed through `clean` (NUL, secrets)
 * before it is checked, so what is stored is what was checked.
 */
export function parseAgentResult(file: ResultFile, clean: (text: string) => string = (t) => t): ParsedResult {
  if (file.kind === "refused") return { kind: "invalid", problem: file.problem };
  if (file.kind === "none" || file.text.trim() === "") return { kind: "none" };
  let value: unknown;
  try {
    value = cleanAgentValue(JSON.parse(file.text), clean);
  } catch (error) {
    const position = /position (\d+)/.exec(coerceError(error).message)?.[1];
    return {
      kind: "invalid",
      problem: `the result file is not valid JSON${position ? ` (at byte ${position})` : ""}`,
    };
  }
  const parsed = agentResultSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { kind: "invalid", problem: `the result file does not follow the protocol: ${issues}` };
  }
  return { kind: "ok", result: parsed.data };
}

/** Failure codes an agent may report; anything else becomes AGENT_ERROR. */
const AGENT_CODES: readonly FailureCode[] = FAILURE_CODES.filter(
  (code) =>
    ![
      "DUPLICATE",
      "CANCELLED",
      "ACCESS_REVOKED",
      "WORKER_LOST",
      "MAX_ATTEMPTS",
      "RATE_LIMITED",
      "HOLD_EXPIRED",
      "DRY_RUN",
    ].includes(code),
);

export function agentFailureCode(code: string | undefined): FailureCode {
  return code && (AGENT_CODES as readonly string[]).includes(code) ? (code as FailureCode) : "AGENT_ERROR";
}

/** The longest progress message kept. */
export const MAX_PROGRESS_MESSAGE = 200;

/**
 * `::progress::<0-100> <message>`; anything else is not progress. Give it the
 * masked line: the message is stored and shown. It is cut to 200 characters.
 */
export function parseProgressLine(line: string): { percent: number; message: string | null } | null {
  const match = /^::progress::(\d{1,3})(?:\s+(.*))?$/s.exec(line.trim());
  if (!match) return null;
  const percent = Number(match[1]);
  if (percent > 100) return null;
  const message = match[2]?.trim().slice(0, MAX_PROGRESS_MESSAGE) || null;
  return { percent, message };
}

/**
 * `::cost::<usd>`: the agent's running cost so far (the latest line counts); anything else,
 * or a number that is not a sane amount, is not a cost.
 */
export function parseCostLine(line: string): number | null {
  const match = /^::cost::(\d{1,9}(?:\.\d{1,9})?)$/.exec(line.trim());
  if (!match) return null;
  const usd = Number(match[1]);
  return Number.isFinite(usd) && usd <= 1_000_000 ? usd : null;
}
