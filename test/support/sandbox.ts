import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SandboxSupport } from "../../src/worker/prepare-run.js";
import { hostSystemEntries } from "../../src/worker/sandbox/host-system.js";
import { agentHostUser, probeSandbox } from "../../src/worker/sandbox/probe-sandbox.js";

/** The workspace root of the test workers (private, like a real worker's). */
export const TEST_WORKSPACE_ROOT = join(tmpdir(), "labelrun-test-workspaces", `w${process.pid}`);
mkdirSync(TEST_WORKSPACE_ROOT, { recursive: true, mode: 0o700 });

/**
 * This machine's sandbox, probed once per test file the way a worker probes
 * it. Without bubblewrap the worker tests fail with the probe's reason: on CI
 * it is installed by `.ci/run`, and a sandbox test never silently runs unsandboxed.
 */
export const testSandbox: SandboxSupport = await probeSandbox({
  workerDir: TEST_WORKSPACE_ROOT,
  hostUser: agentHostUser({}),
  system: hostSystemEntries(),
});
