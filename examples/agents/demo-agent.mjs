#!/usr/bin/env node
// labelrun's demo agent: harmless, no network. It reads the job's context,
// reports progress, looks at the checkout, and writes a result. Use it to see
// the whole lifecycle work before wiring a real coding agent (see
// coding-agent-template.sh and README.md, "The agent protocol").
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const contextFile = process.env.LABELRUN_CONTEXT;
const resultFile = process.env.LABELRUN_RESULT;
if (!contextFile || !resultFile) {
  console.error("run me from labelrun: LABELRUN_CONTEXT and LABELRUN_RESULT are not set");
  process.exit(2);
}
const { job, target } = JSON.parse(readFileSync(contextFile, "utf8"));
const review = process.argv.includes("--review");
const pause = Number(process.env.LABELRUN_DEMO_STEP_MS ?? 300);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

console.log(`::progress::10 reading ${job.kind} #${job.number}: ${target.title}`);
await sleep(pause);
const files = readdirSync(".").filter((name) => !name.startsWith("."));
console.log(`the checkout has ${files.length} entries: ${files.slice(0, 10).join(", ")}`);
console.log(`::progress::60 ${review ? "reviewing" : "planning"} (demo: nothing is changed)`);
await sleep(pause);
console.log("::progress::90 writing the result");

writeFileSync(
  resultFile,
  JSON.stringify({
    status: "completed",
    result_url: target.url,
    summary: `Demo ${review ? "review" : "run"} of "${target.title}": read the issue and ${files.length} files; changed nothing.`,
    cost_usd: 0,
    input_tokens: Buffer.byteLength(target.body ?? ""),
    output_tokens: 0,
  }),
);
