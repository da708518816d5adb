#!/usr/bin/env node
// labelrun wrapper for Claude Code's headless mode (`claude -p`). A job type:
//   command: ["node", "examples/agents/claude-code.mjs", "--max-budget-usd", "2", "--max-turns", "40"]
//   env: [ANTHROPIC_API_KEY]       # or CLAUDE_CODE_OAUTH_TOKEN
//   mounts: [examples/agents/]     # this file's lib/ folder; and wherever `claude` is installed
//   network: full                  # reaches api.anthropic.com and GitHub; never the host's loopback
//   permissions: { contents: write, pull_requests: write, metadata: read }
// The CLI runs with its own permission prompts off (labelrun's sandbox is the boundary):
// it may edit the checkout and run commands inside the sandbox, nothing more.
import {
  buildPrompt,
  currentBranch,
  EX_TEMPFAIL,
  finish,
  options,
  progress,
  readRun,
  reportCost,
  runCli,
  writeResult,
} from "./lib/coding-agent.mjs";

const run = readRun();
const opts = options({ "max-budget-usd": "2", "max-turns": "40", model: "", cli: "claude" });
const budget = Number(opts["max-budget-usd"]);
const base = currentBranch();
progress(5, `starting Claude Code on ${run.isPull ? "pull request" : "issue"}: ${run.context.target.title}`);

const argv = [
  opts.cli,
  "-p",
  buildPrompt(run),
  "--output-format",
  "stream-json",
  "--verbose",
  "--max-turns",
  opts["max-turns"],
  "--max-budget-usd",
  opts["max-budget-usd"],
  "--dangerously-skip-permissions",
  ...(opts.model ? ["--model", opts.model] : []),
];
let final = null;
let turns = 0;
const { status } = await runCli(argv, {
  onLine(line) {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not an event: the CLI's own chatter
    }
    if (event.type === "assistant") {
      turns++;
      for (const part of event.message?.content ?? []) {
        if (part.type === "tool_use") {
          const what = part.input?.file_path ?? part.input?.command ?? part.input?.pattern ?? "";
          progress(10 + Math.min(70, (turns / Number(opts["max-turns"])) * 70), `${part.name} ${String(what)}`);
        }
      }
    }
    if (event.type === "result") {
      final = event;
      reportCost(event.total_cost_usd);
    }
  },
});

const cost = final?.total_cost_usd ?? 0;
const usage = {
  cost_usd: cost,
  input_tokens: final?.usage?.input_tokens ?? 0,
  output_tokens: final?.usage?.output_tokens ?? 0,
};
const text = `${final?.result ?? ""} ${(final?.errors ?? []).join(" ")}`;
if (!final || final.is_error || final.subtype !== "success") {
  if (final?.subtype === "error_max_budget_usd" || cost > budget) {
    writeResult({
      status: "failed",
      code: "BUDGET_EXCEEDED",
      message: `Claude Code spent $${cost.toFixed(2)} of its $${budget} budget`,
      ...usage,
    });
  } else if (/overloaded|529|rate.?limit|429/i.test(text)) {
    console.error("the model API is overloaded: labelrun retries later");
    process.exit(EX_TEMPFAIL);
  } else if (final?.subtype === "error_max_turns") {
    writeResult({
      status: "failed",
      code: "AGENT_ERROR",
      message: `Claude Code used its ${opts["max-turns"]} turns without finishing`,
      ...usage,
    });
  } else {
    writeResult({
      status: "failed",
      code: "AGENT_ERROR",
      message: `Claude Code ended without success (exit ${status}, ${final?.subtype ?? "no result"})`,
      ...usage,
    });
  }
  process.exit(0);
}
await finish(run, {
  base,
  summary: String(final.result ?? "").trim() || "Changes by Claude Code.",
  cost,
  inputTokens: usage.input_tokens,
  outputTokens: usage.output_tokens,
});
