import nock from "nock";
import { describe, expect, it } from "vitest";
import { getStatusComment } from "../../src/github/status-comment/status-comment-store.js";
import { findJobsForTarget, listJobEvents } from "../../src/jobs/find-jobs.js";
import { labeled, REPO } from "../fixtures/webhooks.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { api, makeGitHubHarness } from "../support/github-harness.js";

describe.runIf(postgresAvailable)("concurrent deliveries on the real server", () => {
  const database = useTestDatabase("postgres", { max: 25 });

  it("20 deliveries of the same label at once leave one active job, 19 cancelled duplicates and one comment", async () => {
    const harness = await makeGitHubHarness(database.db);
    let creates = 0;
    let edits = 0;
    const scope = api()
      .persist()
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
      .get(/labelrun\.yml/)
      .reply(404, { message: "Not Found" })
      .get("/repos/Codertocat/Hello-World/issues/1")
      .reply(200, { number: 1, state: "open", title: "t", html_url: "https://github.com/x" })
      .post("/repos/Codertocat/Hello-World/issues/1/comments")
      .reply(201, () => {
        creates++;
        return { id: 555 };
      });
    // Edits may or may not happen, depending on how the writers interleave.
    api()
      .persist()
      .patch("/repos/Codertocat/Hello-World/issues/comments/555")
      .reply(200, () => {
        edits++;
        return { id: 555 };
      });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => harness.deliver(labeled({ label: "agent:implement" }), `concurrent-${i}`)),
    );
    await harness.settle();
    // Every request the scope declares was made (persisted interceptors stay listed as pending).
    expect(scope.isDone()).toBe(true);
    nock.cleanAll();
    const all = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: 1 });
    expect(all.filter((j) => j.status === "queued")).toHaveLength(1);
    expect(all.filter((j) => j.status === "cancelled" && j.failureCode === "DUPLICATE")).toHaveLength(19);
    expect(creates).toBe(1);
    // Coalesced: far fewer edits than transitions, and the last write shows the final state.
    expect(edits).toBeLessThan(20);
    const comment = await getStatusComment(database.db, REPO.id, 1);
    expect(comment).toMatchObject({ commentId: 555, dirtySince: null, lockedBy: null });
    expect(comment?.renderedBody).toContain("`implement` — queued");
    expect(comment?.renderedBody).toContain("19 duplicate triggers while job #");
  });

  it("40 triggers on 40 issues at once, each delivered twice: 40 jobs, each with one CREATED event, none lost or doubled", async () => {
    const harness = await makeGitHubHarness(database.db);
    api()
      .persist()
      .post("/app/installations/2/access_tokens")
      .reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
      .get(/labelrun\.yml/)
      .reply(404, { message: "Not Found" })
      .get(/\/repos\/Codertocat\/Hello-World\/issues\/\d+$/)
      .reply(200, { state: "open", title: "t", html_url: "https://github.com/x" })
      .post(/\/repos\/Codertocat\/Hello-World\/issues\/\d+\/comments/)
      .reply(201, () => ({ id: Math.floor(Math.random() * 1e9) }))
      .patch(/\/repos\/Codertocat\/Hello-World\/issues\/comments\/\d+/)
      .reply(200, {});
    const numbers = Array.from({ length: 40 }, (_, i) => 100 + i);
    const deliveries = numbers.flatMap((number) => [
      () => harness.deliver(labeled({ label: "agent:implement", number }), `flood-${number}`),
      () => harness.deliver(labeled({ label: "agent:implement", number }), `flood-${number}`),
    ]);
    await Promise.all(deliveries.map((deliver) => deliver()));
    await harness.settle();
    nock.cleanAll();
    for (const number of numbers) {
      const jobs = await findJobsForTarget(database.db, { repositoryId: REPO.id, targetNumber: number });
      expect(jobs.map((job) => [job.deliveryId, job.status])).toEqual([[`flood-${number}`, "queued"]]);
      const events = await listJobEvents(database.db, jobs[0]?.id ?? 0);
      expect(events.filter((event) => event.code === "CREATED")).toHaveLength(1);
    }
  });
});
