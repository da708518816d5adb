/**
 * Where things are inside the sandbox. The agent never sees a host path of
 * the server: its workspace is `/workspace`, its token and account files are
 * under `/run/labelrun`, and the command's own files keep their paths.
 */
export const SANDBOX_PATHS = Object.freeze({
  workspace: "/workspace",
  checkout: "/workspace/repo",
  home: "/workspace/home",
  tmp: "/tmp",
  context: "/workspace/context.json",
  result: "/workspace/result.json",
  runDir: "/run/labelrun",
  tokenFile: "/run/labelrun/token",
});

/** The agent's user and group id inside the sandbox (never 0). */
export const SANDBOX_UID = 1000;

/** The host user an agent runs as when the worker may switch users (root): the worker's own uid is never it. */
export interface HostUser {
  uid: number;
  gid: number;
}

/** Resource limits of one run, in the units the kernel takes. */
export interface RunLimits {
  memoryBytes: number;
  processes: number;
  cpuSeconds: number;
  fileSizeBytes: number;
  workspaceBytes: number;
}

/** `/etc/passwd` and `/etc/group` inside the sandbox: the agent's account and nothing of the host's. */
export const SANDBOX_PASSWD = `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nagent:x:${SANDBOX_UID}:${SANDBOX_UID}:labelrun agent:${SANDBOX_PATHS.home}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
export const SANDBOX_GROUP = `root:x:0:\nagent:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`;

/** The resolver inside a sandbox with a network of its own: slirp4netns's DNS forwarder. */
export const SANDBOX_RESOLV_CONF = "nameserver 10.0.2.3\n";
