import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { SandboxSupport } from "../prepare-run.js";
import { runProcess } from "../run-process.js";
import { createRunFolders } from "../workspace.js";
import { bubblewrapArgv, type SystemEntry } from "./bubblewrap-argv.js";
import type { HostUser } from "./sandbox-layout.js";
import { attachSlirpNetwork } from "./slirp-network.js";

/**
 * Starts empty sandboxes the way runs start theirs, to learn whether this
 * machine can sandbox agents at all (bubblewrap installed, user namespaces
 * allowed) and give them a network of their own (slirp4netns). A worker that
 * cannot claims no job that needs it, and says why.
 */
export async function probeSandbox(params: {
  workerDir: string;
  hostUser: HostUser | null;
  system: readonly SystemEntry[];
  bwrap?: string;
  slirp?: string;
}): Promise<SandboxSupport> {
  const bwrap = params.bwrap ?? "bwrap";
  const slirp = params.slirp ?? "slirp4netns";
  const base = { bwrap, slirp, hostUser: params.hostUser, system: params.system };
  const unavailable = await tryThrice(() => tryEmptySandbox(params.workerDir, base, "none"));
  if (unavailable) {
    return { ...base, unavailable: describeFailure(unavailable, bwrap, "bubblewrap"), networkUnavailable: null };
  }
  const networkFailure = await tryThrice(() => tryEmptySandbox(params.workerDir, base, "full"));
  return {
    ...base,
    unavailable: null,
    networkUnavailable: networkFailure
      ? `${describeFailure(networkFailure, slirp, "slirp4netns")} (network: full needs it; network: none and host do not)`
      : null,
  };
}

async function tryEmptySandbox(
  workerDir: string,
  base: { bwrap: string; slirp: string; hostUser: HostUser | null; system: readonly SystemEntry[] },
  network: "none" | "full",
): Promise<string | null> {
  const folders = await createRunFolders(workerDir, 0);
  await mkdir(join(folders.workspace, "repo"));
  const output: string[] = [];
  try {
    const outcome = await runProcess({
      argv: bubblewrapArgv({
        ...base,
        workspace: folders.workspace,
        runDir: folders.runDir,
        readOnly: [],
        network,
        limits: {
          memoryBytes: 2 ** 30,
          processes: 64,
          cpuSeconds: 10,
          fileSizeBytes: 2 ** 20,
          workspaceBytes: 2 ** 20,
        },
        argv: ["true"],
      }),
      cwd: folders.workspace,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeoutMs: 20_000,
      killGraceMs: 1_000,
      signal: new AbortController().signal,
      supervised: true,
      onLine: (_stream, line) => output.push(line),
      attach: network === "full" ? (child) => attachSlirpNetwork(child, base.slirp) : undefined,
    });
    if (outcome.spawnError) return outcome.spawnError.message;
    if (outcome.exitCode === 0) return null;
    return output.find((line) => line.trim()) ?? `it exited with ${outcome.exitCode ?? outcome.signal}`;
  } finally {
    await rm(folders.dir, { recursive: true, force: true });
  }
}

/** A sandbox can fail to start now and then under load; a machine that cannot sandbox fails every time. */
async function tryThrice(attempt: () => Promise<string | null>): Promise<string | null> {
  let failure: string | null = null;
  for (let i = 0; i < 3; i++) {
    failure = await attempt();
    if (!failure) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return failure;
}

function describeFailure(said: string, binary: string, name: string): string {
  if (/ENOENT/.test(said)) return `${name} (${binary}) is not installed: install Debian's \`${name}\` package`;
  return `${name} cannot start here (${said}); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, or an AppArmor profile)`;
}

/** The host user agents run as: a distinct unprivileged uid when the worker is root, else the worker's own. */
export function agentHostUser(
  settings: { uid?: number; gid?: number },
  workerUid: number | undefined = process.getuid?.(),
): HostUser | null {
  if (workerUid !== 0) return null;
  return { uid: settings.uid ?? 65534, gid: settings.gid ?? settings.uid ?? 65534 };
}
