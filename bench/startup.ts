// `npm run bench:startup`: the Procfile's web process started as compiled JavaScript
// (`node dist/bin/web.js`, what the Procfile runs) against the TypeScript source through tsx
// (`node --import tsx src/bin/web.ts`, what `npm start` runs): time from spawn to "listening",
// and resident memory once it listens. Needs `npm run build` first. Talks only to loopback and
// the local PostgreSQL (BENCH_DATABASE_URL).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

const runs = process.argv.includes("--quick") ? 3 : 9;
const database = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
if (!existsSync("dist/bin/web.js")) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(1);
}

const variants = {
  "compiled (node dist/bin/web.js)": ["--enable-source-maps", resolve("dist/bin/web.js")],
  "tsx (node --import tsx src/bin/web.ts)": ["--import", "tsx", resolve("src/bin/web.ts")],
};

/** One start: ms until the "listening" line, and VmRSS then (KiB). */
function startOnce(args: string[]): Promise<{ ms: number; rssKiB: number }> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      env: {
        PATH: process.env.PATH ?? "",
        PORT: "0",
        DATABASE_URL: database,
        LOG_LEVEL: "info",
        SHUTDOWN_DRAIN_SECONDS: "0",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      if (!buffered.includes('"msg":"listening')) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      child.stdout.removeAllListeners("data");
      child.kill("SIGTERM");
      child.once("exit", () => done({ ms, rssKiB }));
    });
    child.once("exit", (code) => {
      if (!buffered.includes("listening")) fail(new Error(`exited ${code} before listening:\n${buffered}`));
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const results: Record<string, { ms: number; rssMiB: number }> = {};
for (const [name, args] of Object.entries(variants)) {
  await startOnce(args); // warm the file cache
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await startOnce(args));
  results[name] = {
    ms: median(samples.map((s) => s.ms)),
    rssMiB: median(samples.map((s) => s.rssKiB)) / 1024,
  };
}

console.log(`\nweb process start-up, median of ${runs} (Node ${process.version})\n`);
console.log("| variant | to listening (ms) | RSS when listening (MiB) |");
console.log("|---|---:|---:|");
for (const [name, r] of Object.entries(results))
  console.log(`| ${name} | ${r.ms.toFixed(0)} | ${r.rssMiB.toFixed(1)} |`);
const [compiled, tsx] = Object.values(results) as [{ ms: number; rssMiB: number }, { ms: number; rssMiB: number }];
console.log(
  `\nstartup: compiled ${compiled.ms.toFixed(0)} ms / ${compiled.rssMiB.toFixed(1)} MiB vs tsx ${tsx.ms.toFixed(0)} ms / ${tsx.rssMiB.toFixed(1)} MiB (${(tsx.ms / compiled.ms).toFixed(2)}× faster, ${(tsx.rssMiB - compiled.rssMiB).toFixed(1)} MiB less)`,
);
