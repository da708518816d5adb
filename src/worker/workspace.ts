import { execFile } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { isProcessAlive } from "../process-alive.js";
import type { HostUser } from "./sandbox/sandbox-layout.js";
import { SANDBOX_GROUP, SANDBOX_PASSWD, SANDBOX_RESOLV_CONF } from "./sandbox/sandbox-layout.js";

/** Raised when the workspace root is not a private folder of this worker's. */
export class WorkspaceRootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkspaceRootError";
  }
}

/**
 * One run's folders on the host: `dir` holds both; `workspace` is the agent's
 * (it owns it: checkout, home, tmp, context, result), `runDir` is the
 * worker's (token file, account files), read-only to the agent.
 */
export interface RunFolders {
  dir: string;
  workspace: string;
  runDir: string;
}

/** The marker that names the process owning a worker's folder, so a later start can tell a crashed run's leftovers. */
const OWNER_FILE = "owner";

/**
 * Creates the workspace root `0700` and checks an existing one is the
 * worker's and as private (a looser one is tightened). Returns this
 * worker's folder below it, emptied of what a crashed run of the same worker
 * left, after removing the folders of workers on this host that are gone.
 */
export async function prepareWorkspaceRoot(params: {
  root: string;
  workerId: string;
  isAlive?: (pid: number) => boolean;
}): Promise<{ workerDir: string; removed: string[] }> {
  const { root } = params;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const stat = await lstat(root);
  const owner = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory()) throw new WorkspaceRootError(`the workspace root ${root} is not a folder`);
  if (stat.uid !== owner)
    throw new WorkspaceRootError(`the workspace root ${root} belongs to uid ${stat.uid}, not this worker's (${owner})`);
  if ((stat.mode & 0o077) !== 0) await chmod(root, 0o700);
  const removed = await removeOrphans(root, params.workerId, params.isAlive ?? isProcessAlive);
  const workerDir = join(root, folderName(params.workerId));
  await rm(workerDir, { recursive: true, force: true });
  await mkdir(workerDir, { mode: 0o700 });
  await writeFile(join(workerDir, OWNER_FILE), JSON.stringify({ host: hostname(), pid: process.pid }));
  return { workerDir, removed };
}

/**
 * A fresh pair of folders for one run below the worker's private folder. The
 * sandbox is set up by the worker, so the agent's host user never needs to
 * reach them on the host; it gets the workspace's contents (`handOverWorkspace`).
 */
export async function createRunFolders(workerDir: string, jobId: number): Promise<RunFolders> {
  const dir = await mkdtemp(join(workerDir, `job-${jobId}-`));
  const workspace = join(dir, "workspace");
  const runDir = join(dir, "run");
  await mkdir(workspace, { mode: 0o700 });
  for (const sub of ["home", "tmp"]) await mkdir(join(workspace, sub), { mode: 0o700 });
  // The run folder is the worker's: the agent reads it (bind-mounted read-only), never writes it.
  await mkdir(runDir, { mode: 0o755 });
  await writeFile(join(runDir, "passwd"), SANDBOX_PASSWD, { mode: 0o644 });
  await writeFile(join(runDir, "group"), SANDBOX_GROUP, { mode: 0o644 });
  await writeFile(join(runDir, "resolv.conf"), SANDBOX_RESOLV_CONF, { mode: 0o644 });
  return { dir, workspace, runDir };
}

/**
 * Gives the agent's host user its workspace (checkout, home, tmp, context) before it starts.
 * `-h -P`: symlinks a repository holds are changed themselves, never followed.
 */
export async function handOverWorkspace(workspace: string, hostUser: HostUser | null): Promise<void> {
  if (!hostUser) return;
  await new Promise<void>((resolve, reject) =>
    execFile(
      "chown",
      ["-R", "-h", "-P", `${hostUser.uid}:${hostUser.gid}`, workspace],
      { timeout: 120_000 },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
}

async function removeOrphans(root: string, workerId: string, alive: (pid: number) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (name === folderName(workerId)) continue;
    const owner = await readFile(join(dir, OWNER_FILE), "utf8")
      .then((text) => JSON.parse(text) as { host?: string; pid?: number })
      .catch(() => null);
    // Another live worker on this host (or one on another host sharing the folder) keeps its runs.
    if (owner && (owner.host !== hostname() || (typeof owner.pid === "number" && alive(owner.pid)))) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function folderName(workerId: string): string {
  return `worker-${workerId.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}
