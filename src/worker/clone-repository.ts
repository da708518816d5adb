import { execFile } from "node:child_process";

export class GitCloneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitCloneError";
  }
}

export interface CloneRequest {
  /** The remote URL with the token in it (never logged: errors are masked by the caller's mask). */
  url: string;
  dir: string;
  /** For a pull request: its number, to check out `refs/pull/N/head`. */
  pullNumber?: number;
  mask: (text: string) => string;
  timeoutMs?: number;
}

function git(args: string[], cwd: string | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      {
        cwd,
        timeout: timeoutMs,
        // No prompts, no user config: a clone asks nothing and reads nothing of the server's home.
        env: { PATH: process.env.PATH ?? "", GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", HOME: "/nonexistent" },
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, _stdout, stderr) => (error ? reject(new Error(stderr.trim() || error.message)) : resolve()),
    );
  });
}

/**
 * A shallow clone of the default branch, or of a pull request's head. A
 * failure becomes `GitCloneError` with git's own message, token masked.
 */
export async function cloneRepository(request: CloneRequest): Promise<void> {
  const timeout = request.timeoutMs ?? 5 * 60_000;
  try {
    await git(["clone", "--quiet", "--depth", "1", "--no-tags", request.url, request.dir], undefined, timeout);
    if (request.pullNumber !== undefined) {
      const ref = `refs/pull/${request.pullNumber}/head`;
      await git(
        ["fetch", "--quiet", "--depth", "1", "origin", `${ref}:refs/remotes/origin/pr-head`],
        request.dir,
        timeout,
      );
      await git(
        ["checkout", "--quiet", "-B", `pr-${request.pullNumber}`, "refs/remotes/origin/pr-head"],
        request.dir,
        timeout,
      );
    }
  } catch (error) {
    throw new GitCloneError(request.mask((error as Error).message));
  }
}

/** The clone URL for a repository on GitHub with an installation token. */
export function githubCloneUrl(host: string, fullName: string, token: string): string {
  return `https://x-access-token:${token}@${host}/${fullName}.git`;
}
