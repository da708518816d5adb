import { execFile } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { SandboxSupport } from "../prepare-run.js";
import { createRunFolders } from "../workspace.js";
import { bubblewrapArgv, type SystemEntry } from "./bubblewrap-argv.js";
import type { HostUser } from "./sandbox-layout.js";

/**
 * Starts one empty sandbox the way runs start theirs, to learn whether this
 * machine can sandbox agents at all (bubblewrap installed, user namespaces
 * allowed). A worker that cannot claims no sandboxed job and says why.
 */
export async function probeSandbox(params: {
  workerDir: string;
  hostUser: HostUser | null;
  system: readonly SystemEntry[];
  bwrap?: string;
}): Promise<SandboxSupport> {
  const bwrap = params.bwrap ?? "bwrap";
  const base = { bwrap, hostUser: params.hostUser, system: params.system };
  const folders = await createRunFolders(params.workerDir, 0);
  await mkdir(join(folders.workspace, "repo"));
  try {
    const argv = bubblewrapArgv({
      ...base,
      workspace: folders.workspace,
      runDir: folders.runDir,
      readOnly: [],
      network: "none",
      limits: { memoryBytes: 2 ** 30, processes: 64, cpuSeconds: 10, fileSizeBytes: 2 ** 20, workspaceBytes: 2 ** 20 },
      argv: ["true"],
    });
    const [command = bwrap, ...args] = argv;
    const failure = await new Promise<string | null>((resolve) => {
      execFile(
        command,
        args,
        { timeout: 10_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
        (error, _out, stderr) => {
          if (!error) return resolve(null);
          if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            return resolve(`bubblewrap (${bwrap}) is not installed: install Debian's \`bubblewrap\` package`);
          }
          const said = stderr.trim().split("\n")[0] || error.message;
          resolve(
            `bubblewrap cannot start a sandbox here (${said}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, or an AppArmor profile)`,
          );
        },
      );
    });
    return { ...base, unavailable: failure };
  } finally {
    await rm(folders.dir, { recursive: true, force: true });
  }
}

/** The host user agents run as: a distinct unprivileged uid when the worker is root, else the worker's own. */
export function agentHostUser(
  settings: { uid?: number; gid?: number },
  workerUid: number | undefined = process.getuid?.(),
): HostUser | null {
  if (workerUid !== 0) return null;
  return { uid: settings.uid ?? 65534, gid: settings.gid ?? settings.uid ?? 65534 };
}
