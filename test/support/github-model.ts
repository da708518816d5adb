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
export class GitHubModel {
  readonly comments = new Map<number, StoredComment>();
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
      .reply(201, {});
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
    this.closed.clear();
    this.writeDelayMs = 0;
  }
}
