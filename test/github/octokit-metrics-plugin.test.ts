import pino from "pino";
import { Probot } from "probot";
import { describe, expect, it } from "vitest";
import { githubMetricsPlugin } from "../../src/github/octokit-metrics-plugin.js";
import { registry } from "../../src/metrics.js";
import { api, mockToken, TEST_PRIVATE_KEY, TestOctokit } from "../support/github-harness.js";

describe("GitHub request metrics", () => {
  it("count each request by method and status and keep the rate limit left, failures included", async () => {
    const probot = new Probot({
      appId: 1,
      privateKey: TEST_PRIVATE_KEY,
      secret: "s",
      log: pino({ level: "silent" }),
      Octokit: TestOctokit.plugin(githubMetricsPlugin as never),
    });
    const scope = mockToken(api())
      .get("/repos/o/r/issues/1")
      .reply(200, { number: 1 }, { "x-ratelimit-remaining": "4321", "x-ratelimit-resource": "core" })
      .get("/repos/o/r/issues/2")
      .reply(404, { message: "Not Found" }, { "x-ratelimit-remaining": "4320", "x-ratelimit-resource": "core" });
    const octokit = await probot.auth(2);
    await octokit.rest.issues.get({ owner: "o", repo: "r", issue_number: 1 });
    await expect(octokit.rest.issues.get({ owner: "o", repo: "r", issue_number: 2 })).rejects.toMatchObject({
      status: 404,
    });
    expect(scope.isDone()).toBe(true);
    const requests = await registry.getSingleMetricAsString("labelrun_github_requests_total");
    expect(requests).toContain('labelrun_github_requests_total{method="GET",status="200"} 1');
    expect(requests).toContain('labelrun_github_requests_total{method="GET",status="404"} 1');
    expect(await registry.getSingleMetricAsString("labelrun_github_rate_limit_remaining")).toContain(
      'labelrun_github_rate_limit_remaining{resource="core"} 4320',
    );
  });
});
