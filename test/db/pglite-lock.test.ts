import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataDirectoryInUseError, lockDataDirectory } from "../../src/db/pglite-lock.js";

describe("the embedded database folder guard", () => {
  it("refuses a second live process on the same folder with a message that says what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-lock-"));
    const release = lockDataDirectory(dir, process.pid);
    // Our parent (the test runner) is alive and is not us: it plays the second process.
    expect(() => lockDataDirectory(dir, process.ppid)).toThrow(DataDirectoryInUseError);
    expect(() => lockDataDirectory(dir, process.ppid)).toThrow(/set DATABASE_URL/);
    release();
    expect(existsSync(join(dir, "labelrun.lock"))).toBe(false);
    lockDataDirectory(dir, process.ppid)();
  });

  it("takes over a lock left behind by a process that died", () => {
    const dir = mkdtempSync(join(tmpdir(), "labelrun-lock-"));
    writeFileSync(join(dir, "labelrun.lock"), "2147483646"); // no such pid
    const release = lockDataDirectory(dir);
    expect(existsSync(join(dir, "labelrun.lock"))).toBe(true);
    release();
  });
});
