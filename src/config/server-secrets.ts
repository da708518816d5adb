import type { Env } from "./env.js";

/**
 * Every secret value the server knows, for masking what agents print and
 * write: the App's private key (whole, as configured, and each of its lines,
 * so a key printed line by line is masked too), the webhook secret, the admin
 * token, the OAuth client secret, the database URL and its password.
 */
export function serverSecrets(env: Env, raw: NodeJS.ProcessEnv = {}): string[] {
  const secrets: string[] = [];
  const key = env.github?.privateKey;
  if (key) {
    secrets.push(key, key.trim());
    for (const line of key.split(/\r?\n/)) if (line.trim() && !line.startsWith("-----")) secrets.push(line.trim());
  }
  if (raw.PRIVATE_KEY) secrets.push(raw.PRIVATE_KEY);
  if (env.WEBHOOK_SECRET) secrets.push(env.WEBHOOK_SECRET);
  if (env.ADMIN_TOKEN) secrets.push(env.ADMIN_TOKEN);
  if (env.GITHUB_CLIENT_SECRET) secrets.push(env.GITHUB_CLIENT_SECRET);
  if (env.DATABASE_URL) {
    secrets.push(env.DATABASE_URL);
    const password = safePassword(env.DATABASE_URL);
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  return [...new Set(secrets)];
}

function safePassword(url: string): string | null {
  try {
    return new URL(url).password || null;
  } catch {
    return null;
  }
}
