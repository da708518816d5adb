#!/usr/bin/env node
// labelrun wrapper for OpenAI's Codex CLI (`codex exec --json`). A job type:
//   command: ["node", "examples/agents/codex.mjs", "--max-budget-usd", "2"]
//   env: [OPENAI_API_KEY]          # or CODEX_API_KEY
//   mounts: [examples/agents/]     # this file's lib/ folder; and wherever `codex` is installed
//   network: full                  # reaches api.openai.com and GitHub; never the host's loopback
//   permissions: { contents: write, pull_requests: write, metadata: read }
// Codex's own sandbox is off (it cannot nest inside labelrun's bubblewrap, which is the boundary).
// Codex reports tokens, not dollars: the cost is priced here (--input-price / --output-price,
// USD per million tokens; cached input at a tenth) and the run is stopped past the budget.
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
const opts = options({
  "max-budget-usd": "2",
  model: "",
  "input-price": "1.25",
  "output-price": "10",
  cli: "codex",
});
const budget = Number(opts["max-budget-usd"]);
const price = (usage) =>
  ((usage.input_tokens - (usage.cached_input_tokens ?? 0)) * Number(opts["input-price"]) +
    (usage.cached_input_tokens ?? 0) * Number(opts["input-price"]) * 0.1 +
    usage.output_tokens * Number(opts["output-price"])) /
  1_000_000;
const base = currentBranch();
progress(5, `starting Codex on ${run.isPull ? "pull request" : "issue"}: ${run.context.target.title}`);

const argv = [
  opts.cli,
  "exec",
  "--json",
  "--skip-git-repo-check",
  "--dangerously-bypass-approvals-and-sandbox",
  ...(opts.model ? ["--model", opts.model] : []),
  buildPrompt(run),
];
const spent = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0 };
let cost = 0;
let lastMessage = "";
let failure = "";
let overBudget = false;
let items = 0;
const { status } = await runCli(argv, {
  onLine(line) {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (event.type === "item.completed" || event.type === "item.started") {
      const item = event.item ?? {};
      if (item.type === "agent_message" && event.type === "item.completed") lastMessage = String(item.text ?? "");
      if (item.type === "command_execution" || item.type === "file_change") {
        items++;
        const what = item.command ?? (item.changes ?? []).map((c) => c.path).join(", ");
        progress(10 + Math.min(70, items * 3), `${item.type === "file_change" ? "editing" : "running"} ${what}`);
      }
    }
    if (event.type === "turn.completed" && event.usage) {
      for (const key of Object.keys(spent)) spent[key] += event.usage[key] ?? 0;
      cost = price(spent);
      reportCost(cost);
      if (cost > budget) {
        overBudget = true;
        return false; // stops the CLI
      }
    }
    if (event.type === "turn.failed" || event.type === "error")
      failure = String(event.error?.message ?? event.message ?? "");
  },
});

const usage = { cost_usd: cost, input_tokens: spent.input_tokens, output_tokens: spent.output_tokens };
if (overBudget) {
  writeResult({
    status: "failed",
    code: "BUDGET_EXCEEDED",
    message: `Codex spent $${cost.toFixed(2)} of its $${budget} budget`,
    ...usage,
  });
  process.exit(0);
}
if (failure || status !== 0) {
  if (/overloaded|rate.?limit|429|503|capacity/i.test(failure)) {
    console.error("the model API is overloaded: labelrun retries later");
    process.exit(EX_TEMPFAIL);
  }
  writeResult({
    status: "failed",
    code: "AGENT_ERROR",
    message: `Codex failed (exit ${status}): ${failure.slice(0, 500) || "no message"}`,
    ...usage,
  });
  process.exit(0);
}
await finish(run, {
  base,
  summary: lastMessage.trim() || "Changes by Codex.",
  cost,
  inputTokens: spent.input_tokens,
  outputTokens: spent.output_tokens,
});
