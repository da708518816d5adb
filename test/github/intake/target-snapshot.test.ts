import { describe, expect, it } from "vitest";
import { readLabelEvent } from "../../../src/github/intake/events.js";
import { labeled } from "../../fixtures/webhooks.js";

describe("the issue/PR as the trigger's webhook showed it", () => {
  it("an issue's title, body, labels and author are kept for the worker", () => {
    const { payload } = labeled({ label: "agent:implement", title: "Fix the README" });
    payload.issue.body = "It says Helo.";
    payload.issue.labels = [{ name: "bug" }, { name: "agent:implement" }];
    expect(readLabelEvent(payload, "d1").snapshot).toEqual({
      title: "Fix the README",
      body: "It says Helo.",
      url: "https://github.com/Codertocat/Hello-World/issues/1",
      state: "open",
      labels: ["bug", "agent:implement"],
      author: payload.issue.user.login,
    });
  });

  it("a pull request's event keeps its head and base; an issues event on a pull request keeps nothing (the worker reads it)", () => {
    const pull = labeled({ label: "agent:implement", kind: "pull_request" }).payload;
    const snapshot = readLabelEvent(pull, "d2").snapshot;
    expect(snapshot?.head).toEqual({ ref: pull.pull_request.head.ref, sha: pull.pull_request.head.sha });
    expect(snapshot?.base).toEqual({ ref: pull.pull_request.base.ref, sha: pull.pull_request.base.sha });

    const onPull = labeled({ label: "agent:implement" }).payload;
    onPull.issue.pull_request = { url: "https://api.github.com/repos/Codertocat/Hello-World/pulls/1" };
    expect(readLabelEvent(onPull, "d3").snapshot).toBeUndefined();
  });

  it("a stranger's worst: a huge body with NUL bytes is cut at GitHub's limit, odd labels are dropped, a bad sha or a missing user keeps no snapshot", () => {
    const { payload } = labeled({ label: "agent:implement" });
    payload.issue.body = `\u0000${"x".repeat(200_000)}`;
    payload.issue.labels = [
      null,
      7,
      { name: 8 },
      { name: "ok" },
      ...Array.from({ length: 500 }, () => ({ name: "n" })),
    ];
    const snapshot = readLabelEvent(payload, "d4").snapshot;
    expect(snapshot?.body).toHaveLength(65_536);
    expect(snapshot?.body.startsWith("\uFFFD")).toBe(true);
    expect(snapshot?.labels[0]).toBe("ok");
    expect(snapshot?.labels).toHaveLength(100);

    payload.issue.user = null;
    expect(readLabelEvent(payload, "d5").snapshot).toBeUndefined();
    const pull = labeled({ label: "agent:implement", kind: "pull_request" }).payload;
    pull.pull_request.head.sha = "not-a-sha; rm -rf /";
    expect(readLabelEvent(pull, "d6").snapshot).toBeUndefined();
  });
});
