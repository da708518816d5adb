import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { withDeadline } from "../../deadline.js";

/** How long the sandbox's network may take to come up. */
const SETUP_TIMEOUT_MS = 15_000;

/**
 * Gives a sandbox started with `--unshare-net --info-fd 3 --block-fd 4` its
 * network: slirp4netns, a user-mode NAT, joins the sandbox's network
 * namespace and brings up `tap0` (10.0.2.100, DNS at 10.0.2.3), refusing
 * connections to the host's loopback (`--disable-host-loopback`, so the
 * database and labelrun's own server are out of reach); then the sandbox is
 * let go. slirp4netns ends when the returned stop is called, or when this
 * process dies (its exit fd closes).
 */
export async function attachSlirpNetwork(sandbox: ChildProcess, slirp: string): Promise<() => void> {
  const info = sandbox.stdio[3] as Readable | null;
  const release = sandbox.stdio[4] as Writable | null;
  if (!info || !release) throw new Error("the sandbox was started without its info and block pipes");
  const pid = await withDeadline(childPid(info), SETUP_TIMEOUT_MS, () => late("bubblewrap did not report its sandbox"));
  const net = spawn(
    slirp,
    ["--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3", "--exit-fd=4", String(pid), "tap0"],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
  );
  // Its pipes end with it (ECONNRESET, EPIPE): never an error that may end this process.
  for (const pipe of net.stdio) pipe?.on("error", () => {});
  const stop = () => {
    (net.stdio[4] as Writable | null)?.destroy();
    if (net.exitCode === null) net.kill("SIGTERM");
  };
  try {
    await withDeadline(ready(net), SETUP_TIMEOUT_MS, () => late("slirp4netns did not bring the network up"));
  } catch (error) {
    stop();
    throw error;
  }
  release.write("1");
  return stop;
}

const late = (what: string) => new Error(`${what} within ${SETUP_TIMEOUT_MS / 1000} s`);

function childPid(info: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      try {
        const pid = (JSON.parse(text) as { "child-pid"?: unknown })["child-pid"];
        if (typeof pid === "number") resolve(pid);
      } catch {
        // Not all of it yet.
      }
    });
    info.on("close", () => reject(new Error("bubblewrap closed its info pipe without a child pid")));
  });
}

function ready(net: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = "";
    net.stderr?.on("data", (chunk: Buffer) => {
      if (said.length < 2000) said += chunk.toString("utf8");
    });
    (net.stdio[3] as Readable | null)?.once("data", () => resolve());
    net.on("error", reject);
    net.on("exit", (code) =>
      reject(new Error(`slirp4netns exited (${code}): ${said.trim().split("\n").at(-1) ?? ""}`)),
    );
  });
}
