import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterEach, describe, expect, it } from "vitest";
import { describeReadiness } from "../../src/bin/start-worker.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { liveWorkers } from "../../src/worker/presence-store.js";
import { type BubblewrapPlan, bubblewrapArgv } from "../../src/worker/sandbox/bubblewrap-argv.js";
import { hostSystemEntries } from "../../src/worker/sandbox/host-system.js";
import { agentHostUser, probeSandbox } from "../../src/worker/sandbox/probe-sandbox.js";
import { Worker } from "../../src/worker/worker.js";
import { prepareWorkspaceRoot, WorkspaceRootError } from "../../src/worker/workspace.js";
import { mockAgentGitHub } from "../support/agent-github.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { seedInstallation } from "../support/factories.js";
import { makeBareRepository } from "../support/git-fixtures.js";
import { AGENT, makeRunJobDeps, queueJobs } from "../support/worker-harness.js";

const plan: BubblewrapPlan = {
  bwrap: "bwrap",
  workspace: "/srv/ws/job-1/workspace",
  runDir: "/srv/ws/job-1/run",
  system: [{ path: "/bin", symlinkTo: "usr/bin" }, { path: "/etc/ssl/certs" }],
  readOnly: ["/opt/agents/claude.sh"],
  network: "full",
  limits: { memoryBytes: 1024, processes: 64, cpuSeconds: 60, fileSizeBytes: 2048, workspaceBytes: 4096 },
  hostUser: null,
  argv: ["/opt/agents/claude.sh", "--print"],
};

describe("the bubblewrap command line", () => {
  it("unshares every namespace, shows the workspace writable and the rest read-only, and ends with the limited command", () => {
    const argv = bubblewrapArgv(plan);
    const text = argv.join(" ");
    expect(text).toContain("--die-with-parent --unshare-ipc --unshare-pid --unshare-uts --unshare-cgroup-try");
    // network: full is a namespace of its own that slirp4netns connects (bubblewrap waits on fd 4 for it).
    expect(text).toContain("--unshare-net --info-fd 3 --block-fd 4");
    expect(text).toContain("--ro-bind /srv/ws/job-1/run/resolv.conf /etc/resolv.conf");
    expect(text).toContain("--bind /srv/ws/job-1/workspace /workspace");
    expect(text).toContain("--ro-bind /srv/ws/job-1/run /run/labelrun");
    expect(text).toContain("--symlink usr/bin /bin");
    expect(text).toContain(
      "--perms 0755 --dir /opt --perms 0755 --dir /opt/agents --ro-bind /opt/agents/claude.sh /opt/agents/claude.sh",
    );
    expect(text).toContain("--unshare-user --disable-userns --uid 1000 --gid 1000");
    expect(text).toMatch(
      /-- prlimit --data=1024 --nproc=64 --cpu=60 --fsize=2048 --core=0 -- \/opt\/agents\/claude\.sh --print$/,
    );
    // Nothing of the host is bound but what the plan names.
    const bound = argv.flatMap((arg, i) => (arg.endsWith("bind") || arg.endsWith("bind-try") ? [argv[i + 1]] : []));
    expect(bound.sort()).toEqual(
      [
        "/usr",
        "/etc/ssl/certs",
        "/srv/ws/job-1/workspace",
        "/srv/ws/job-1/workspace/tmp",
        "/srv/ws/job-1/run",
        "/srv/ws/job-1/run/passwd",
        "/srv/ws/job-1/run/group",
        "/srv/ws/job-1/run/resolv.conf",
        "/opt/agents/claude.sh",
      ].sort(),
    );
  });

  it("network: none is an empty network namespace, and network: host the host's own", () => {
    const none = bubblewrapArgv({ ...plan, network: "none" });
    expect(none).toContain("--unshare-net");
    expect(none).not.toContain("--info-fd");
    const host = bubblewrapArgv({ ...plan, network: "host" });
    expect(host).not.toContain("--unshare-net");
  });

  it("a root worker sets the sandbox up as root and the agent runs as the host user, capabilities dropped", () => {
    const text = bubblewrapArgv({ ...plan, hostUser: { uid: 4242, gid: 4343 } }).join(" ");
    expect(text).toContain(
      "-- setpriv --reuid=4242 --regid=4343 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- bwrap --dev-bind / / --unshare-user --disable-userns",
    );
  });

  it("the host user is a distinct unprivileged one for a root worker, and the worker's own otherwise", () => {
    expect(agentHostUser({}, 0)).toEqual({ uid: 65534, gid: 65534 });
    expect(agentHostUser({ uid: 2000, gid: 2001 }, 0)).toEqual({ uid: 2000, gid: 2001 });
    expect(agentHostUser({ uid: 2000 }, 1000)).toBeNull();
  });
});

describe("probing the sandbox", () => {
  it("works on this machine (bubblewrap is installed here and by .ci/run)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-probe-"));
    const support = await probeSandbox({ workerDir: dir, hostUser: agentHostUser({}), system: hostSystemEntries() });
    expect(support.unavailable).toBeNull();
  });

  it("without bubblewrap says what to install", async () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-probe-"));
    const support = await probeSandbox({ workerDir: dir, hostUser: null, system: [], bwrap: "/nonexistent/bwrap" });
    expect(support.unavailable).toMatch(/not installed: install Debian's `bubblewrap` package/);
  });
});

describe("the workspace root", () => {
  it("is created 0700, a looser one is tightened, and one owned by someone else is refused", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "labelrun-root-")), "workspaces");
    await prepareWorkspaceRoot({ root, workerId: "w1" });
    expect(statSync(root).mode & 0o777).toBe(0o700);
    chmodSync(root, 0o755);
    await prepareWorkspaceRoot({ root, workerId: "w1" });
    expect(statSync(root).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      chownSync(root, 65534, 65534);
      await expect(prepareWorkspaceRoot({ root, workerId: "w1" })).rejects.toBeInstanceOf(WorkspaceRootError);
    }
  });

  it("a starting worker removes what crashed runs left (its own and dead workers'), and keeps a live worker's", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "labelrun-root-")), "workspaces");
    const { workerDir } = await prepareWorkspaceRoot({ root, workerId: "me" });
    mkdirSync(join(workerDir, "job-1-crashed"));
    for (const [name, pid] of [
      ["worker-dead", 999_999_999],
      ["worker-alive", process.pid],
    ] as const) {
      mkdirSync(join(root, name));
      mkdirSync(join(root, name, "job-2-x"));
      writeFileSync(join(root, name, "owner"), JSON.stringify({ host: hostname(), pid }));
    }
    const again = await prepareWorkspaceRoot({ root, workerId: "me", isAlive: (pid) => pid === process.pid });
    expect(again.removed).toEqual([join(root, "worker-dead")]);
    expect(existsSync(join(workerDir, "job-1-crashed"))).toBe(false);
    expect(existsSync(join(root, "worker-alive", "job-2-x"))).toBe(true);
  });
});

const driver = testDrivers[0] ?? "pglite";

describe(`a worker that cannot sandbox (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 2) });
  const repos = makeBareRepository("Codertocat/Hello-World");
  afterEach(() => nock.cleanAll());

  it("claims no sandboxed job and says why, and still runs the job types marked sandbox: none", async () => {
    const jobTypes = parseJobTypes(
      JSON.stringify({
        job_types: {
          implement: { command: [process.execPath, AGENT, "complete"] },
          trusted: { command: [process.execPath, AGENT, "slow", "10"], sandbox: "none", clone: false },
        },
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), "labelrun-probe-"));
    const support = await probeSandbox({ workerDir: dir, hostUser: null, system: [], bwrap: "/nonexistent/bwrap" });
    const readiness = describeReadiness(jobTypes, support, null);
    expect(readiness).toMatchObject({
      sandbox: { available: false },
      runs: ["trusted"],
      refuses: { implement: expect.stringMatching(/bubblewrap .* is not installed/) },
    });
    mockAgentGitHub();
    const { deps } = makeRunJobDeps({
      db: database.db,
      githubUrl: "https://api.github.com",
      cloneBaseUrl: repos.baseUrl,
      jobTypes,
      sandbox: support,
    });
    const worker = new Worker(
      { ...deps, handle: database },
      {
        slots: 2,
        installationLimit: 2,
        pollIntervalMs: 100,
        shutdownGraceMs: 100,
        runsJobTypes: readiness.runs,
        refuses: readiness.refuses,
      },
    );
    const jobs = await queueJobs(database.db, [
      ["implement", 1],
      ["trusted", 2],
    ]);
    await worker.start();
    try {
      for (const started = Date.now(); (await getJob(database.db, jobs[1] ?? 0))?.status !== "completed"; ) {
        if (Date.now() - started > 15_000) throw new Error("the unsandboxed job did not run");
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500)); // several polls
      expect(await getJob(database.db, jobs[0] ?? 0)).toMatchObject({ status: "queued" });
      // Every process can tell why the job waits: the worker recorded what it refuses.
      expect(await liveWorkers(database.db, new Date())).toMatchObject([
        { workerId: "test-worker", runs: ["trusted"], refuses: { implement: readiness.refuses.implement } },
      ]);
    } finally {
      await worker.stop();
    }
    expect(await liveWorkers(database.db, new Date())).toEqual([]);
  });
});
