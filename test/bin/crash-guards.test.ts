import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("the entry points' crash guard", () => {
  it("logs a promise that rejects with nobody waiting, and the process goes on", () => {
    const script = `
      import pino from "pino";
      import { installCrashGuards } from "./src/bin/crash-guards.ts";
      installCrashGuards(pino());
      Promise.reject(new Error("a stray rejection"));
      setTimeout(() => console.log("still running"), 100);
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("a stray rejection");
    expect(run.stdout).toContain("labelrun keeps running");
    expect(run.stdout).toContain("still running");
  });
});
