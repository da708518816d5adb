import type { ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { JobTypeConfig } from "../config/job-types.js";
import type { JobRow } from "../db/schema.js";
import type { TargetDetails } from "../github/port.js";
import { buildAgentEnv } from "./agent-env.js";
import { agentGitEnv } from "./git-credentials.js";
import { bubblewrapArgv, type SystemEntry } from "./sandbox/bubblewrap-argv.js";
import { type HostUser, type RunLimits, SANDBOX_PATHS } from "./sandbox/sandbox-layout.js";
import { attachSlirpNetwork } from "./sandbox/slirp-network.js";
import type { RunFolders } from "./workspace.js";

/** What a worker knows about sandboxing on its machine (probed once at start-up). */
export interface SandboxSupport {
  /** The bubblewrap binary. */
  bwrap: string;
  /** Null when bubblewrap works here; otherwise why not (the worker claims no sandboxed job). */
  unavailable: string | null;
  /** The host user agents run as when the worker is root; null: the worker's own uid (inside a user namespace). */
  hostUser: HostUser | null;
  /** The host's system folders (`hostSystemEntries()`). */
  system: readonly SystemEntry[];
  /** The slirp4netns binary that gives `network: full` sandboxes their network. */
  slirp: string;
  /** Null when `network: full` works here; otherwise why not (such job types are not claimed). */
  networkUnavailable: string | null;
}

/** The paths an agent is told about, as it sees them. */
export interface AgentPaths {
  checkout: string;
  home: string;
  tmp: string;
  context: string;
  result: string;
  tokenFile: string;
}

/** Where the agent's files are as the agent sees them: inside the sandbox, or the host folders themselves. */
export function agentPaths(folders: RunFolders, sandboxed: boolean): AgentPaths {
  if (sandboxed) return { ...SANDBOX_PATHS };
  const { workspace, runDir } = folders;
  return {
    checkout: join(workspace, "repo"),
    home: join(workspace, "home"),
    tmp: join(workspace, "tmp"),
    context: join(workspace, "context.json"),
    result: join(workspace, "result.json"),
    tokenFile: join(runDir, "token"),
  };
}

/** The job type's limits in the kernel's units. */
export function runLimits(jobType: JobTypeConfig): RunLimits {
  const mib = 1024 * 1024;
  const { limits } = jobType;
  return {
    memoryBytes: limits.memory_mb * mib,
    processes: limits.processes,
    cpuSeconds: limits.cpu_seconds ?? Math.ceil(jobType.timeout_minutes * 60),
    fileSizeBytes: (limits.file_size_mb ?? limits.workspace_mb) * mib,
    workspaceBytes: limits.workspace_mb * mib,
  };
}

/** The limits in words, for a failure message. */
export function describeLimits(limits: RunLimits): string {
  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  return `memory ${mib(limits.memoryBytes)} per process, ${limits.processes} processes, ${limits.cpuSeconds} s of CPU per process, files up to ${mib(limits.fileSizeBytes)}, workspace ${mib(limits.workspaceBytes)}`;
}

/** Writes the context file: the job and its issue/PR, for the agent. */
export async function writeContext(
  folders: RunFolders,
  job: JobRow,
  details: TargetDetails,
  review?: unknown,
): Promise<void> {
  await writeFile(
    join(folders.workspace, "context.json"),
    JSON.stringify({ job: contextJob(job), target: details, ...(review ? { review } : {}) }, null, 2),
  );
  await mkdir(join(folders.workspace, "repo"), { recursive: true });
}

/**
 * The argv and environment that start the job type's command: in a bubblewrap
 * sandbox (the default), or as it is with `sandbox: none`.
 */
export function agentCommand(params: {
  job: JobRow;
  jobType: JobTypeConfig;
  folders: RunFolders;
  sandbox: SandboxSupport;
  serverEnv: NodeJS.ProcessEnv;
  token: string;
  apiUrl: string;
}): {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  supervised: boolean;
  attach?: (child: ChildProcess) => Promise<() => void>;
} {
  const { job, jobType, folders, sandbox } = params;
  const sandboxed = jobType.sandbox === "bubblewrap";
  const paths = agentPaths(folders, sandboxed);
  const env = buildAgentEnv({
    serverEnv: params.serverEnv,
    declared: jobType.env,
    token: params.token,
    fixed: { HOME: paths.home, TMPDIR: paths.tmp, ...agentGitEnv(paths.tokenFile) },
    labelrun: {
      JOB_ID: String(job.id),
      JOB_TYPE: job.jobType,
      ATTEMPT: String(job.attempt),
      REPOSITORY: job.repositoryFullName,
      NUMBER: String(job.targetNumber),
      KIND: job.targetKind,
      CONTEXT: paths.context,
      RESULT: paths.result,
      WORKSPACE: paths.checkout,
      TOKEN_FILE: paths.tokenFile,
      API_URL: params.apiUrl,
    },
  });
  if (!sandboxed) return { argv: [...jobType.command], env, cwd: paths.checkout, supervised: false };
  // The command's own files (an absolute path to a file: the script) and what `mounts` lists. A
  // folder in the argv is not shown: it could hold anything (the operator's .env, the key).
  const readOnly = [
    ...jobType.command.filter((arg) => isAbsolute(arg) && !arg.startsWith("/usr/") && isFile(arg)),
    ...jobType.mounts.filter((path) => existsSync(path)),
  ];
  const argv = bubblewrapArgv({
    bwrap: sandbox.bwrap,
    workspace: folders.workspace,
    runDir: folders.runDir,
    system: sandbox.system,
    readOnly: [...new Set(readOnly)],
    network: jobType.network,
    limits: runLimits(jobType),
    hostUser: sandbox.hostUser,
    argv: jobType.command,
  });
  const attach =
    jobType.network === "full" ? (child: ChildProcess) => attachSlirpNetwork(child, sandbox.slirp) : undefined;
  return { argv, env, cwd: folders.workspace, supervised: true, attach };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function contextJob(job: JobRow) {
  return {
    id: job.id,
    type: job.jobType,
    attempt: job.attempt,
    max_attempts: job.maxAttempts,
    retry_of: job.retryOf,
    // A review round: its number and the job that opened the pull request.
    review_round: job.reviewRound,
    parent_job_id: job.parentJobId,
    repository: job.repositoryFullName,
    number: job.targetNumber,
    kind: job.targetKind,
    trigger_label: job.triggerLabel,
    triggered_by: job.triggeredBy,
    // After a needs_input run: what the agent asked and what people answered since.
    question: job.question,
    answers: job.answers ?? [],
  };
}
