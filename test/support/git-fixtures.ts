import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, GIT_CONFIG_NOSYSTEM: "1" },
    stdio: "pipe",
  });

/**
 * A local bare repository `<base>/<owner>/<repo>.git` with one commit on the
 * default branch and a pull request head at `refs/pull/1/head`, so clones
 * work exactly as they do from GitHub.
 */
export function makeBareRepository(fullName: string): { baseUrl: string; base: string } {
  const base = mkdtempSync(join(tmpdir(), "labelrun-git-"));
  const bare = join(base, `${fullName}.git`);
  execFileSync("mkdir", ["-p", bare]);
  git(bare, "init", "--quiet", "--bare", "--initial-branch=main");
  const work = mkdtempSync(join(tmpdir(), "labelrun-work-"));
  git(work, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(work, "README.md"), "# Hello World\n\nHelo.\n");
  git(work, "add", ".");
  git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "initial");
  git(work, "push", "--quiet", bare, "main");
  writeFileSync(join(work, "FEATURE.md"), "the pull request's change\n");
  git(work, "add", ".");
  git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "feature");
  git(work, "push", "--quiet", bare, "HEAD:refs/pull/1/head");
  return { base, baseUrl: `file://${base}` };
}
