import pino from "pino";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { reactToJob } from "../../src/github/job-reactions.js";
import type { GitHubPort } from "../../src/github/port.js";
import { amendJob } from "../../src/jobs/amend-job.js";
import { getJob } from "../../src/jobs/find-jobs.js";
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
