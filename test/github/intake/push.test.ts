import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { repositoryConfigs } from "../../../src/db/schema.js";
import { findJobsForTarget } from "../../../src/jobs/find-jobs.js";
import { labeled, REPO } from "../../fixtures/webhooks.js";
import { testDrivers, useTestDatabase } from "../../support/databases.js";
import { api, makeGitHubHarness, mockConfig, mockIssue, mockToken } from "../../support/github-harness.js";

/** A `push` webhook: `files` changed by its one commit, on `branch` of a repository whose default is main. */
function pushed(options: { files: string[]; branch?: string; repository?: { id: number; fullName: string } }) {
  const repository = options.repository ?? REPO;
  return {
    name: "push",
    payload: {
      ref: `refs/heads/${options.branch ?? "main"}`,
      repository: {
        id: repository.id,
        full_name: repository.fullName,
        default_branch: "main",
        owner: { login: "Codertocat" },
      },
      installation: { id: 2 },
      commits: [{ id: "c1", added: [], modified: options.files, removed: [] }],
      head_commit: { id: "c1", added: [], modified: options.files, removed: [] },
      sender: { login: "octocat", type: "User" },
    },
  };
}

describe.each(testDrivers)("the stored repository config and push events (%s)", (driver) => {
  const database = useTestDatabase(driver);
  let harness: Awaited<ReturnType<typeof makeGitHubHarness>>;
  beforeEach(async () => {
    harness = await makeGitHubHarness(database.db);
  });

  async function trigger(number: number, scope: ReturnType<typeof api>) {
    mockIssue(scope, number);
    scope.post(`/repos/Codertocat/Hello-World/issues/${number}/comments`).reply(201, { id: 500 + number });
    await harness.deliver(labeled({ label: "agent:implement", number }));
    await harness.settle();
    expect(scope.isDone()).toBe(true);
    const [job] = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: number });
    return job;
  }

  it("a dispatch within minutes of the last config read reads no config; a push that changes the file reads it at once", async () => {
    expect(await trigger(1, mockConfig(mockToken(api()), null))).toMatchObject({ status: "queued" });
    // Two minutes later: the stored config answers (nock fails any request not declared here).
    harness.clock.advance(2 * 60_000);
    expect(await trigger(2, api())).toMatchObject({ status: "queued" });

    // Pushes that do not touch the file on the default branch cost nothing.
    await harness.deliver(pushed({ files: ["README.md"] }));
    await harness.deliver(pushed({ files: [".github/labelrun.yml"], branch: "feature" }));
    await harness.settle();

    const read = mockConfig(api(), "triggers:\n  agent:fix: implement\n");
    await harness.deliver(pushed({ files: [".github/labelrun.yml"] }));
    await harness.settle();
    expect(read.isDone()).toBe(true);
    const [row] = await database.db.select().from(repositoryConfigs).where(eq(repositoryConfigs.repositoryId, REPO.id));
    expect(row?.triggers).toEqual({ "agent:fix": "implement" });
    expect(row?.config?.triggers).toEqual({ "agent:fix": "implement" });
  });

  it("after five minutes the config is read again; a push to the organisation's .github marks every repository of the owner stale", async () => {
    await trigger(1, mockConfig(mockToken(api()), null));
    harness.clock.advance(6 * 60_000);
    expect(await trigger(2, mockConfig(api(), null))).toMatchObject({ status: "queued" });

    await harness.deliver(
      pushed({ files: [".github/labelrun.yml"], repository: { id: 99, fullName: "Codertocat/.github" } }),
    );
    await harness.settle();
    const [row] = await database.db.select().from(repositoryConfigs).where(eq(repositoryConfigs.repositoryId, REPO.id));
    expect(row?.fetchedAt.getTime()).toBe(0);
    expect(await trigger(3, mockConfig(api(), null))).toMatchObject({ status: "queued" });
  });

  it("a stranger's worst push (thousands of files, garbage commits, NUL bytes, no repository) is ignored and the intake keeps serving", async () => {
    const flood = pushed({ files: Array.from({ length: 50_000 }, (_, i) => `f/${i}\u0000`) });
    flood.payload.commits = [
      ...Array.from({ length: 1_000 }, () => ({ modified: "not a list", added: [7, null, { x: 1 }] })),
      null,
    ] as never;
    await harness.deliver(flood);
    await harness.deliver({ name: "push", payload: { ref: 5, commits: "x", installation: { id: 2 } } });
    await harness.deliver({ name: "push", payload: { ...pushed({ files: [] }).payload, repository: { id: -1 } } });
    await harness.settle();
    expect(await trigger(1, mockConfig(mockToken(api()), null))).toMatchObject({ status: "queued" });
  });
});
