import { api } from "./github-harness.js";

export interface AgentGitHubOptions {
  /** The title (every issue number of Codertocat/Hello-World answers). */
  title?: string;
  /** Makes each token and its expiry; told whether the request named repositories (the agent's token). */
  token?: (scoped: boolean) => { token: string; expires_at: string };
  /** Told of every token revoked (`DELETE /installation/token`). */
  onRevoke?: (token: string) => void;
  /** Answers `GET /pulls/1` (a pull request from `evil` into `main`). */
  pull?: boolean;
}

/**
 * What a worker asks GitHub for in every run, persisted (each test file's
 * afterEach cleans it up): tokens for installation 2, the issue, the pull
 * request, and token revocation.
 */
export function mockAgentGitHub(options: AgentGitHubOptions = {}): void {
  let scoped = false;
  const token =
    options.token ??
    (() => ({ token: `ghs_test_${Math.random().toString(36).slice(2)}`, expires_at: "2099-01-01T00:00:00Z" }));
  const scope = api()
    .persist()
    .post("/app/installations/2/access_tokens", (body) => {
      // The agent's tokens name the repository; the worker's own (to read the issue) does not.
      scoped = Boolean(body && typeof body === "object" && "repository_ids" in body);
      return true;
    })
    .reply(201, () => token(scoped))
    .get(/^\/repos\/Codertocat\/Hello-World\/issues\/\d+$/)
    .reply(200, {
      number: 1,
      state: "open",
      title: options.title ?? "Spelling error in the README file",
      body: "",
      html_url: "https://github.com/Codertocat/Hello-World/issues/1",
      labels: [],
      user: { login: "octocat" },
    })
    .delete("/installation/token")
    // nock 15.0.0 hands a one-argument reply function the fetch Request.
    .reply(((request: Request) => {
      options.onRevoke?.((request.headers.get("authorization") ?? "").replace(/^token /, ""));
      return [204];
    }) as never);
  if (options.pull) {
    scope
      .get("/repos/Codertocat/Hello-World/pulls/1")
      .reply(200, { number: 1, head: { ref: "evil", sha: "abc" }, base: { ref: "main", sha: "def" } });
  }
}
