import { execFile } from "node:child_process";
import { coerceError } from "../errors.js";
import { gitTokenEnv } from "./git-credentials.js";

export class GitCloneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitCloneError";
  }
}

export interface CloneRequest {
  /** The remote URL, without credentials. */
  url: string;
  /** The token, given to git as a header through its environment (never in the URL or `.git/config`). */
  token: string | null;
  dir: string;
  /** For a pull request: its number, to check out `refs/pull/N/head`. */
  pullNumber?: number;
  mask: (text: string) => string;
  timeoutMs?: number;
}

/** Runs git in `cwd`; resolves with its stdout. */
export function git(
  args: string[],
  cwd: string | undefined,
  timeoutMs: number,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      {
        cwd,
        timeout: timeoutMs,
        // No prompts, no user config: a clone asks nothing and reads nothing of the server's home.
        env: {
          PATH: process.env.PATH ?? "",
          GIT_TERMINAL_PROMPT: "0",
          GIT_CONFIG_NOSYSTEM: "1",
          HOME: "/nonexistent",
          ...extraEnv,
        },
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => (error ? reject(new Error(stderr.trim() || error.message)) : resolve(stdout)),
    );
  });
}

/**
 * A shallow clone of the default branch, or of a pull request's head. A
 * failure becomes `GitCloneError` with git's own message, token masked.
 */
export async function cloneRepository(request: CloneRequest): Promise<void> {
  const timeout = request.timeoutMs ?? 5 * 60_000;
  const auth = request.token ? gitTokenEnv(request.token) : {};
  try {
    await git(["clone", "--quiet", "--depth", "1", "--no-tags", request.url, request.dir], undefined, timeout, auth);
    if (request.pullNumber !== undefined) {
      const ref = `refs/pull/${request.pullNumber}/head`;
      await git(
        ["fetch", "--quiet", "--depth", "1", "origin", `${ref}:refs/remotes/origin/pr-head`],
        request.dir,
        timeout,
        auth,
      );
      await git(
        ["checkout", "--quiet", "-B", `pr-${request.pullNumber}`, "refs/remotes/origin/pr-head"],
        request.dir,
        timeout,
      );
    }
  } catch (error) {
    throw new GitCloneError(request.mask(coerceError(error).message));
  }
}

/**
 * For a pull request: puts `paths` back as the base branch has them (or
 * removes them where the base has none), so the pull request cannot hand the
 * agent its own agent settings or hooks. git refuses paths beyond a symlink.
 */
export async function restoreFromBase(request: {
  dir: string;
  baseRef: string;
  paths: readonly string[];
  token: string | null;
  mask: (text: string) => string;
  timeoutMs?: number;
}): Promise<void> {
  if (!request.paths.length) return;
  const timeout = request.timeoutMs ?? 5 * 60_000;
  const auth = request.token ? gitTokenEnv(request.token) : {};
  try {
    await git(
      ["fetch", "--quiet", "--depth", "1", "origin", `refs/heads/${request.baseRef}:refs/remotes/origin/labelrun-base`],
      request.dir,
      timeout,
      auth,
    );
    for (const path of request.paths) {
      await git(["rm", "-r", "-q", "-f", "--ignore-unmatch", "--", path], request.dir, timeout);
      const inBase = await git(
        ["ls-tree", "--name-only", "refs/remotes/origin/labelrun-base", "--", path],
        request.dir,
        timeout,
      );
      if (inBase.trim()) await git(["checkout", "refs/remotes/origin/labelrun-base", "--", path], request.dir, timeout);
    }
  } catch (error) {
    throw new GitCloneError(
      request.mask(`restoring ${request.paths.join(", ")} from ${request.baseRef}: ${coerceError(error).message}`),
    );
  }
}
