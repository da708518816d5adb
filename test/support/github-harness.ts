import { generateKeyPairSync } from "node:crypto";
import nock from "nock";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { createIntake } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import type { Database } from "../../src/db/client.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { T0 } from "./factories.js";

const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
export const TEST_PRIVATE_KEY = privateKey;
export const WEBHOOK_SECRET = "test-webhook-secret";

/** Probot's Octokit with retries and throttling off (see ../shared/NOTES.md: the only form that works). */
// biome-ignore lint/suspicious/noExplicitAny: Probot types these options loosely itself
export const TestOctokit = ProbotOctokit.defaults((options: Record<string, any>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...options.throttle, enabled: false },
}));

export const TEST_JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: ["node", "agent.mjs"]
    label: "agent:implement"
    timeout_minutes: 30
    max_attempts: 2
  review:
    command: ["node", "agent.mjs", "--review"]
    label: "agent:review"
`);

export function makeProbot(log = pino({ level: "silent" })) {
  return new Probot({ appId: 1, privateKey: TEST_PRIVATE_KEY, secret: WEBHOOK_SECRET, Octokit: TestOctokit, log });
}

/** Probot with labelrun loaded on a test database, a manual clock, and a way to wait for follow-up work. */
export async function makeGitHubHarness(db: Database, jobTypes = TEST_JOB_TYPES) {
  const log = pino({ level: "silent" });
  const clock = new ManualClock(T0);
  const after = new AfterResponseTasks(log);
  const probot = makeProbot(log);
  const github = octokitPort((id) => probot.auth(id) as never);
  const deps = buildIntakeDeps({ db, github, jobTypes, clock, log, after, writerId: "test-writer" });
  const receive = createIntake(deps);
  let deliveries = 0;
  return {
    probot,
    deps,
    clock,
    after,
    github,
    /** Delivers an event as the web process does once it is verified; resolves when the handler answered. */
    async deliver(event: { name: string; payload: Record<string, unknown> }, id = `delivery-${++deliveries}`) {
      await receive({ id, name: event.name, payload: event.payload });
      return id;
    },
    /** Waits for everything started after the responses (dispatch, comment edits). */
    settle: () => after.idle(),
  };
}

export const api = () => nock("https://api.github.com");

/** The installation token request Probot makes before acting for an installation. */
export function mockToken(scope: nock.Scope, installationId = 2): nock.Scope {
  return scope.post(`/app/installations/${installationId}/access_tokens`).reply(201, {
    token: "ghs_installation_token_for_tests",
    expires_at: "2099-01-01T00:00:00Z",
    permissions: { issues: "write" },
    repository_selection: "all",
  });
}

const CONFIG_PATH = /\/contents\/\.github(%2F|\/)labelrun\.yml/;

/** The repository's `.github/labelrun.yml` (raw YAML), or no file (404 here and in the org's `.github` repo). */
export function mockConfig(scope: nock.Scope, yaml: string | null, repo = "Codertocat/Hello-World"): nock.Scope {
  const path = (uri: string) => uri.startsWith(`/repos/${repo}/`) && CONFIG_PATH.test(uri);
  if (yaml === null) {
    scope.get(path).reply(404, { message: "Not Found" });
    const owner = repo.split("/")[0];
    return scope
      .get((uri) => uri.startsWith(`/repos/${owner}/.github/`) && CONFIG_PATH.test(uri))
      .reply(404, { message: "Not Found" });
  }
  return scope.get(path).reply(200, yaml, { "content-type": "application/vnd.github.v3.raw; charset=utf-8" });
}

export function mockIssue(scope: nock.Scope, number: number, state: "open" | "closed" = "open"): nock.Scope {
  return scope.get(`/repos/Codertocat/Hello-World/issues/${number}`).reply(200, {
    number,
    state,
    title: "Spelling error in the README file",
    html_url: `https://github.com/Codertocat/Hello-World/issues/${number}`,
    user: { login: "octocat" },
  });
}

/** The collaborator-permission answer for a user. */
export function mockPermission(scope: nock.Scope, user: string, permission: string): nock.Scope {
  return scope
    .get(`/repos/Codertocat/Hello-World/collaborators/${user}/permission`)
    .reply(200, { permission, role_name: permission, user: { login: user } });
}

/** Records the reactions labelrun puts on a comment. */
export function mockReactions(scope: nock.Scope, commentId: number, seen: string[], count = 2): nock.Scope {
  // nock may try a body matcher on other requests: record only reaction bodies.
  return scope
    .post(`/repos/Codertocat/Hello-World/issues/comments/${commentId}/reactions`, (body) => {
      if (typeof body?.content === "string") seen.push(body.content);
      return true;
    })
    .times(count)
    .reply(201, {});
}
