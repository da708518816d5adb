import { sql } from "drizzle-orm";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import { jobs } from "../../src/db/schema.js";
import { ownPullRequest, reactToJob } from "../../src/github/job-reactions.js";
import type { GitHubPort } from "../../src/github/port.js";
import { amendJob } from "../../src/jobs/amend-job.js";
import { getJob } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { testDrivers, useTestDatabase } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { TEST_JOB_TYPES } from "../support/github-harness.js";

const driver = testDrivers[0] ?? "pglite";

describe(`an agent's question, posted on the issue (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });

  it("is quoted line by line, inert: no HTML, mention, link or image in the App's voice", async () => {
    const posted: string[] = [];
    const github = {
      createComment: async (_ref: unknown, body: string) => {
        posted.push(body);
        return { id: 77 };
      },
    } as unknown as GitHubPort;
    const job = await makeJob(database.db, { installationId: 1, status: "deferred" });
    const question = [
      "Which database? cc @octo-org/admins",
      "</details><img src=x onerror=alert(1)>",
      "[the docs](https://evil.example) ![x](https://evil.example/p.png)",
      ...Array.from({ length: 60 }, (_, i) => `line ${i}`),
    ].join("\n");
    await amendJob(database.db, {
      jobId: job.id,
      set: { hold: "awaiting_input", question },
      at: new Date(),
      actor: "test",
      code: "NEEDS_INPUT",
    });
    const deps = {
      db: database.db,
      github,
      jobTypes: TEST_JOB_TYPES,
      clock: systemClock,
      log: pino({ level: "silent" }),
      dispatch: async () => {},
    };
    await reactToJob(deps, job.id);
    // Done once: a second reactor (the sweep, a repeated call) finds nothing due.
    await reactToJob(deps, job.id);
    expect(posted).toHaveLength(1);
    const body = posted[0] ?? "";
    expect(body).toContain("> Which database? cc @&#8203;octo-org/admins");
    expect(body).not.toMatch(/<\/details>|<img|(^|[^\\])\[the docs\]|https:\/\//);
    expect(body).toContain("> … (23 more lines)");
    expect((await getJob(database.db, job.id))?.questionCommentId).toBe(77);
  });
});

describe("a follow-up runs only on a pull request of the job's own repository on GitHub's host", () => {
  it.each([
    ["https://github.com/Codertocat/Hello-World/pull/5", "github.com", 5],
    ["https://GitHub.com/codertocat/hello-world/pull/5", "github.com", 5],
    ["https://evil.example/Codertocat/Hello-World/pull/5", "github.com", null],
    ["http://github.com/Codertocat/Hello-World/pull/5", "github.com", null],
    ["https://github.com:8443/Codertocat/Hello-World/pull/5", "github.com", null],
    ["https://user@github.com/Codertocat/Hello-World/pull/5", "github.com", null],
    ["https://github.com/Codertocat/Other/pull/5", "github.com", null],
    ["https://github.com/Codertocat/Hello-World/pull/5?x=1", "github.com", null],
    ["https://github.com/Codertocat/Hello-World/pull/99999999999", "github.com", null],
    ["https://ghe.example.com/Codertocat/Hello-World/pull/7", "ghe.example.com", 7],
    ["https://github.com/Codertocat/Hello-World/pull/7", "ghe.example.com", null],
    ["javascript:alert(1)//github.com/Codertocat/Hello-World/pull/5", "github.com", null],
  ])("%s on %s → %s", (url, host, expected) => {
    expect(ownPullRequest(url, "Codertocat/Hello-World", host)).toBe(expected);
  });
});

describe(`follow-ups from a completed job's result (${driver})`, () => {
  const database = useTestDatabase(driver, { seed: (db) => seedInstallation(db, 1) });
  const jobTypes = parseJobTypes(`
job_types:
  implement:
    command: ["node", "agent.mjs"]
    follow_up: review
  review:
    command: ["node", "agent.mjs"]
`);

  it.each([
    ["a pull request of the repository", "https://github.com/octo-org/widgets/pull/8", 1],
    ["the same path on another host", "https://evil.example/octo-org/widgets/pull/8", 0],
  ])("%s: %s follow-ups, however often the reactions run", async (_name, resultUrl, expected) => {
    const job = await makeJob(database.db, { installationId: 1, status: "running", jobType: "implement" });
    await transitionJob(database.db, {
      jobId: job.id,
      from: "running",
      to: "completed",
      at: new Date(),
      actor: "test",
      patch: { resultUrl },
    });
    const dispatched: number[] = [];
    const deps = {
      db: database.db,
      github: { removeLabel: async () => {} } as unknown as GitHubPort,
      jobTypes,
      clock: systemClock,
      log: pino({ level: "silent" }),
      dispatch: async (id: number) => {
        dispatched.push(id);
      },
    };
    await reactToJob(deps, job.id);
    // A second reactor after a crash (the mark raised again by hand) creates nothing more.
    await database.db.execute(sql`update jobs set reacted_version = 0 where id = ${job.id}`);
    await reactToJob(deps, job.id);
    const followUps = (await database.db.select().from(jobs)).filter((j) => j.parentJobId === job.id);
    expect(followUps).toHaveLength(expected);
    expect(dispatched).toHaveLength(expected);
    if (expected)
      expect(followUps[0]).toMatchObject({ jobType: "review", targetNumber: 8, targetKind: "pull_request" });
  });
});
