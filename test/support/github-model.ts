import nock from "nock";
import { STATUS_COMMENT_MARKER } from "../../src/github/status-comment/render-status-comment.js";
import { REPO } from "../fixtures/webhooks.js";

const pathOf = (request: Request) => new URL(request.url).pathname;

interface StoredComment {
  id: number;
  issue: number;
  body: string;
}

/**
 * GitHub as far as labelrun's intake and comments see it, in memory behind
 * nock: issues that can be closed, comments that are created, edited and
 * read back, labels, permissions (everyone writes) and reactions. Comment
 * writes can take `writeDelayMs`, as Probot's pacing makes them in production.
 * Every interceptor is optional: a sequence uses what it needs.
 */
/** A check run as GitHub keeps it. */
export interface StoredCheckRun {
  id: number;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  externalId: string;
}

export class GitHubModel {
  readonly comments = new Map<number, StoredComment>();
  readonly checkRuns = new Map<number, StoredCheckRun>();
  readonly closed = new Set<number>();
  writeDelayMs = 0;
  private nextId = 5000;

  constructor(private readonly base = "https://api.github.com") {}

  install(): void {
    const repo = `/repos/${REPO.fullName}`;
    const later = <T>(value: T) =>
      this.writeDelayMs ? new Promise<T>((resolve) => setTimeout(() => resolve(value), this.writeDelayMs)) : value;
    nock(this.base)
      .persist()
      .post(/^\/app\/installations\/\d+\/access_tokens$/)
      .optionally()
      .reply(201, { token: "ghs_model", expires_at: "2099-01-01T00:00:00Z" })
      .get(/\/contents\/\.github(%2F|\/)labelrun\.yml/)
      .optionally()
      .reply(404, { message: "Not Found" })
      .get(new RegExp(`^${repo}/issues/\\d+$`))
      .optionally()
      .reply((request) => {
        const number = Number(pathOf(request).split("/").pop());
        return [
          200,
          {
            number,
            state: this.closed.has(number) ? "closed" : "open",
            title: "Spelling error",
            html_url: `https://github.com/${REPO.fullName}/issues/${number}`,
            user: { login: "octocat" },
          },
        ];
      })
      .post(new RegExp(`^${repo}/issues/\\d+/comments$`))
      .optionally()
      .reply(async (request) => {
        const issue = Number(pathOf(request).split("/").at(-2));
        const text = String(((await request.json()) as { body?: unknown }).body);
        const id = this.nextId++;
        return later([201, this.store({ id, issue, body: text })] as const);
      })
      .patch(new RegExp(`^${repo}/issues/comments/\\d+$`))
      .optionally()
      .reply(async (request) => {
        const id = Number(pathOf(request).split("/").pop());
        const text = String(((await request.json()) as { body?: unknown }).body);
        const existing = this.comments.get(id);
        if (!existing) return [404, { message: "Not Found" }] as const;
        return later([200, this.store({ ...existing, body: text })] as const);
      })
      .delete(new RegExp(`^${repo}/issues/\\d+/labels/.+$`))
      .optionally()
      .reply(200, [])
      .get(new RegExp(`^${repo}/collaborators/[^/]+/permission$`))
      .optionally()
      .reply(200, { permission: "write", role_name: "write" })
      .post(new RegExp(`^${repo}/issues/comments/\\d+/reactions$`))
      .optionally()
      .reply(201, {})
      .get(new RegExp(`^${repo}/pulls/\\d+$`))
      .optionally()
      .reply((request) => {
        const number = Number(pathOf(request).split("/").pop());
        return [
          200,
          { number, head: { ref: "feature", sha: "a".repeat(40) }, base: { ref: "main", sha: "b".repeat(40) } },
        ];
      })
      .post(`${repo}/check-runs`)
      .optionally()
      .reply(async (request) => {
        const body = (await request.json()) as Record<string, string | undefined>;
        const run: StoredCheckRun = {
          id: this.nextId++,
          name: String(body.name),
          headSha: String(body.head_sha),
          status: String(body.status),
          conclusion: body.conclusion ?? null,
          externalId: String(body.external_id),
        };
        this.checkRuns.set(run.id, run);
        return later([201, run] as const);
      })
      .patch(new RegExp(`^${repo}/check-runs/\\d+$`))
      .optionally()
      .reply(async (request) => {
        const id = Number(pathOf(request).split("/").pop());
        const body = (await request.json()) as Record<string, string | undefined>;
        const existing = this.checkRuns.get(id);
        if (!existing) return [404, { message: "Not Found" }] as const;
        const run = { ...existing, status: String(body.status), conclusion: body.conclusion ?? null };
        this.checkRuns.set(id, run);
        return later([200, run] as const);
      });
  }

  private store(comment: StoredComment): StoredComment {
    this.comments.set(comment.id, comment);
    return comment;
  }

  /** The status comments on an issue/PR (labelrun's, by the marker it writes). */
  statusComments(issue: number): StoredComment[] {
    return [...this.comments.values()].filter((c) => c.issue === issue && c.body.startsWith(STATUS_COMMENT_MARKER));
  }

  reset(): void {
    this.comments.clear();
    this.checkRuns.clear();
    this.closed.clear();
    this.writeDelayMs = 0;
  }
}
