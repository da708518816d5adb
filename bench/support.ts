import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import postgres from "postgres";
import type { DatabaseHandle } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";

/** A throwaway database on the local server for one benchmark run. */
export async function benchDatabase(
  label: string,
): Promise<{ url: string; handle: DatabaseHandle; drop(): Promise<void> }> {
  const baseUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `labelrun_bench_${label}_${process.pid}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await admin.unsafe(`create database ${name}`);
  const handle = openPostgres({ url: url.toString(), max: 4 });
  await migrate(handle);
  return {
    url: url.toString(),
    handle,
    async drop() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Starts a TypeScript entry point and resolves with its port once it logs one. */
export function startProcess(
  command: string[],
  env: Record<string, string>,
  onOutput: (line: string) => void = () => {},
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...command], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    // A line cut between two chunks waits for its end. (This kept every chunk and searched all of
    // them for the port on each new one: with the web logging at info, the benchmark's own CPU grew
    // through a run and took it from the web on a 2-core machine.)
    let partial = "";
    let resolved = false;
    child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        onOutput(line);
        const match = resolved ? null : /"port":(\d+)/.exec(line);
        if (match && Number(match[1]) > 0) {
          resolved = true;
          resolve({ child, port: Number(match[1]) });
        }
      }
    });
    child.on("exit", (code) => {
      if (!resolved) reject(new Error(`${command.join(" ")} exited ${code}`));
    });
  });
}

export const BENCH_SECRET = "bench-secret";

export function benchPrivateKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}

/** Headers GitHub would send with this body and delivery id. */
export function signedHeaders(body: string, deliveryId: string, event = "issues"): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": deliveryId,
    "x-hub-signature-256": `sha256=${createHmac("sha256", BENCH_SECRET).update(body).digest("hex")}`,
  };
}

/** An `issues` payload for a repository of the bench installation. */
export function issuesPayload(action: string, issue: number, label?: string): Record<string, unknown> {
  return {
    action,
    ...(label ? { label: { name: label } } : {}),
    issue: {
      number: issue,
      title: "Bench",
      state: "open",
      html_url: `https://github.com/bench-org/repo/issues/${issue}`,
      // As GitHub's payloads do: the issue changed (was labelled) just now.
      updated_at: new Date().toISOString(),
    },
    repository: { id: 4242, full_name: "bench-org/repo", owner: { login: "bench-org", type: "Organization" } },
    installation: { id: 7 },
    sender: { login: "octocat", type: "User" },
  };
}

/** The environment of a labelrun process in a benchmark: App credentials, the fake GitHub, quiet sweeps. */
export function benchAppEnv(githubUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ID: "1",
    PRIVATE_KEY: benchPrivateKey(),
    WEBHOOK_SECRET: BENCH_SECRET,
    GITHUB_API_URL: githubUrl,
    REDELIVER_FAILED_DELIVERIES: "false",
    MAINTENANCE_INTERVAL_SECONDS: "3600",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    PORT: "0",
    HOST: "127.0.0.1",
    ...extra,
  };
}
