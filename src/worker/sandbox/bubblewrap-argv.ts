import { dirname } from "node:path";
import { type HostUser, type RunLimits, SANDBOX_PATHS, SANDBOX_UID } from "./sandbox-layout.js";

/** A system path as the host has it: a folder to show read-only, or a symlink to repeat (merged /usr). */
export interface SystemEntry {
  path: string;
  symlinkTo?: string;
}

export interface BubblewrapPlan {
  /** The bubblewrap binary. */
  bwrap: string;
  /** Host folder shown read-write at `/workspace` (checkout, home, tmp, context, result). */
  workspace: string;
  /** Host folder shown read-only at `/run/labelrun` (token file, passwd, group); the agent cannot write it. */
  runDir: string;
  /** `/usr`, `/bin`, `/lib*` and the few `/etc` files a program needs (DNS, TLS roots, alternatives). */
  system: readonly SystemEntry[];
  /** Files and folders of the operator's (the command's script, `mounts:`), read-only at the same path. */
  readOnly: readonly string[];
  /** `full`: a namespace of its own, to be connected by slirp4netns (fds 3 and 4); `none`: none; `host`: the host's. */
  network: "full" | "none" | "host";
  limits: RunLimits;
  /**
   * When set, the worker is root: bubblewrap sets the sandbox up as root and the agent runs as
   * this host user (never the worker's uid), inside a user namespace of its own.
   */
  hostUser: HostUser | null;
  argv: readonly string[];
}

/** Folders that are mount points of their own (a read-only path below them needs no parents made). */
const MOUNTED_ROOTS = ["/usr", "/proc", "/dev", "/workspace", "/run/labelrun"];

/**
 * The full argv that runs a command in a bubblewrap sandbox: own PID, IPC, UTS,
 * cgroup and mount namespaces (and network, with `network: none`), a fresh
 * `/proc` and minimal `/dev`, read-only system folders, the workspace as the
 * only writable place, and the agent as an unprivileged user that cannot make
 * user namespaces of its own. Pure: the host's layout comes in the plan.
 */
export function bubblewrapArgv(plan: BubblewrapPlan): string[] {
  const args: string[] = [plan.bwrap, "--die-with-parent"];
  args.push("--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "labelrun");
  if (plan.network !== "host") args.push("--unshare-net");
  // bubblewrap says its child's pid on fd 3 and waits for fd 4 until slirp4netns has the network up.
  if (plan.network === "full") args.push("--info-fd", "3", "--block-fd", "4");
  // bubblewrap makes missing parent folders with modes the unprivileged agent may not be able to
  // enter (0700 when it runs as root): every parent is made readable first.
  const created = new Set<string>();
  const makeParents = (path: string) => {
    for (const parent of ancestors(path)) {
      if (created.has(parent) || MOUNTED_ROOTS.some((root) => parent === root || parent.startsWith(`${root}/`)))
        continue;
      created.add(parent);
      args.push("--perms", "0755", "--dir", parent);
    }
  };
  args.push("--ro-bind", "/usr", "/usr");
  for (const entry of plan.system) {
    if (entry.path === "/usr") continue;
    // In its own network the resolver is slirp4netns's (10.0.2.3), written into the run folder.
    if (entry.path === "/etc/resolv.conf" && plan.network === "full") continue;
    makeParents(entry.path);
    if (entry.symlinkTo !== undefined) args.push("--symlink", entry.symlinkTo, entry.path);
    else args.push("--ro-bind-try", entry.path, entry.path);
  }
  args.push("--proc", "/proc", "--dev", "/dev");
  args.push("--bind", plan.workspace, SANDBOX_PATHS.workspace);
  args.push("--bind", `${plan.workspace}/tmp`, SANDBOX_PATHS.tmp);
  makeParents(SANDBOX_PATHS.runDir);
  args.push("--ro-bind", plan.runDir, SANDBOX_PATHS.runDir);
  makeParents("/etc/passwd");
  args.push("--ro-bind", `${plan.runDir}/passwd`, "/etc/passwd", "--ro-bind", `${plan.runDir}/group`, "/etc/group");
  if (plan.network === "full") args.push("--ro-bind", `${plan.runDir}/resolv.conf`, "/etc/resolv.conf");
  for (const path of plan.readOnly) {
    makeParents(path);
    args.push("--ro-bind", path, path);
  }
  args.push("--chdir", SANDBOX_PATHS.checkout);
  const inner = [
    "--unshare-user",
    "--disable-userns",
    "--uid",
    String(SANDBOX_UID),
    "--gid",
    String(SANDBOX_UID),
    "--die-with-parent",
  ];
  if (plan.hostUser) {
    // Root sets the mounts up (it can read the operator's files wherever they are), then the agent
    // becomes the host user, without capabilities, in a user namespace of its own (a nested
    // bubblewrap that only adds it), where it cannot create further user namespaces.
    const { uid, gid } = plan.hostUser;
    args.push("--", "setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--inh-caps=-all");
    args.push("--bounding-set=-all", "--no-new-privs", "--", plan.bwrap, "--dev-bind", "/", "/", ...inner);
  } else {
    args.push(...inner);
  }
  args.push("--", ...prlimitArgv(plan.limits), "--", ...plan.argv);
  return args;
}

/** Per-process kernel limits: memory (data segment), processes, CPU time, file size, no core dumps. */
export function prlimitArgv(limits: RunLimits): string[] {
  return [
    "prlimit",
    `--data=${limits.memoryBytes}`,
    `--nproc=${limits.processes}`,
    `--cpu=${limits.cpuSeconds}`,
    `--fsize=${limits.fileSizeBytes}`,
    "--core=0",
  ];
}

function ancestors(path: string): string[] {
  const list: string[] = [];
  for (let dir = dirname(path); dir !== "/" && dir !== "."; dir = dirname(dir)) list.unshift(dir);
  return list;
}
