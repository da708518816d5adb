import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/setup-network.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    pool: "forks",
    // Two test files at a time, also on two cores, where vitest's default is one: most files wait
    // on PostgreSQL's flushes, child processes and sandboxes rather than on the CPU (the suite on
    // a 2-core machine: 710 s one at a time, 465 s two at a time). Not more: each file's database
    // pool takes up to 25 of the server's 100 connections, and its workers and web processes more.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fail the run when a test leaves handles (servers, pools, child processes) behind.
    teardownTimeout: 10_000,
  },
});
