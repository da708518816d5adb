import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RegisteredApp } from "./convert-manifest-code.js";

export const PRIVATE_KEY_FILE = "labelrun.private-key.pem";

/**
 * Writes a registered App's credentials where `npm start` reads them: the
 * private key to its own `0600` file, and `APP_ID`, `PRIVATE_KEY_PATH`,
 * `WEBHOOK_SECRET` and the OAuth client into `.env` (created `0600`; lines of
 * an existing one are kept, the keys set here replaced). Each file is written
 * to a temporary name and renamed, so a crash leaves the old file or the new
 * one, never half of either. Returns the variables set.
 */
export function saveAppCredentials(params: { dir: string; app: RegisteredApp }): Record<string, string> {
  const { dir, app } = params;
  const keyPath = join(dir, PRIVATE_KEY_FILE);
  writeAtomically(keyPath, app.pem.endsWith("\n") ? app.pem : `${app.pem}\n`);
  const values: Record<string, string> = {
    APP_ID: String(app.id),
    PRIVATE_KEY_PATH: keyPath,
    WEBHOOK_SECRET: app.webhookSecret,
    GITHUB_CLIENT_ID: app.clientId,
    GITHUB_CLIENT_SECRET: app.clientSecret,
  };
  const envPath = join(dir, ".env");
  const before = existsSync(envPath) ? readFileSync(envPath, "utf8") : "";
  writeAtomically(
    envPath,
    upsertDotenv(before, values, `# Written by labelrun's setup page for the GitHub App \`${app.slug}\`.`),
  );
  return values;
}

/**
 * `.env` text with `values` set: a line that sets one of them is replaced in
 * place (and a PRIVATE_KEY line dropped, since the file takes its place), the
 * rest appended under `heading`; comments and other keys are kept.
 */
export function upsertDotenv(text: string, values: Record<string, string>, heading: string): string {
  const pending = new Map(Object.entries(values));
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (key === "PRIVATE_KEY" && pending.has("PRIVATE_KEY_PATH")) continue;
    const value = key === undefined ? undefined : pending.get(key);
    if (key !== undefined && value !== undefined) {
      lines.push(`${key}=${quote(value)}`);
      pending.delete(key);
    } else lines.push(line);
  }
  while (lines.length && lines.at(-1) === "") lines.pop();
  if (pending.size) {
    if (lines.length) lines.push("");
    lines.push(heading, ...[...pending].map(([key, value]) => `${key}=${quote(value)}`));
  }
  return `${lines.join("\n")}\n`;
}

/** Double quotes keep a value whole for Node's `.env` reader; the values here never hold a quote or newline. */
function quote(value: string): string {
  if (/["\n\r\\]/.test(value)) throw new Error("a .env value may not hold a quote, backslash or line break");
  return `"${value}"`;
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  // `mode` applies only when the file is created; a leftover temporary file keeps its old mode.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
