import { rename, writeFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { ScopedToken, TokenRequest, WorkerGitHubPort } from "../github/port.js";

/** Renew a token this long before it expires at the latest (half its life for shorter ones). */
const RENEW_MARGIN_MS = 10 * 60_000;

/**
 * The installation token of one run: scoped to the job's repository and its
 * job type's permissions, kept in a file the agent reads (the credential
 * helper does, for git), renewed before it expires so runs longer than a
 * token's hour keep working, and revoked — every one issued — when the run ends.
 */
export class AgentToken {
  private current: ScopedToken | null = null;
  private issuedAt = 0;
  private readonly issued: string[] = [];
  /** A renewal under way, which the end of the run waits for so its token is revoked too. */
  private renewing: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly deps: { github: WorkerGitHubPort; clock: Clock; log: Logger },
    private readonly request: TokenRequest,
    /** Where the current token is written (read-only to the agent). */
    private readonly file: string,
    /** Told of every token issued, so the masker knows it. */
    private readonly onIssued: (token: string) => void,
  ) {}

  /** The token now. */
  get token(): string {
    if (!this.current) throw new Error("no token was issued yet");
    return this.current.token;
  }

  async issue(): Promise<string> {
    const token = await this.deps.github.createScopedToken(this.request);
    this.current = token;
    this.issuedAt = this.deps.clock.now().getTime();
    this.issued.push(token.token);
    this.onIssued(token.token);
    // Written beside and renamed: the agent never reads half a token.
    await writeFile(`${this.file}.new`, token.token, { mode: 0o644 });
    await rename(`${this.file}.new`, this.file);
    return token.token;
  }

  /** Renews the token when it is close to expiring; true when it did. */
  async renewIfDue(): Promise<boolean> {
    // One renewal at a time: heartbeats come faster than GitHub may answer.
    if (!this.current || this.closed || this.renewing) return false;
    const now = this.deps.clock.now().getTime();
    const expires = this.current.expiresAt.getTime();
    const margin = Math.min(RENEW_MARGIN_MS, (expires - this.issuedAt) / 2);
    if (expires - now > margin) return false;
    const renewal = this.issue();
    this.renewing = renewal.catch(() => {});
    try {
      await renewal;
    } finally {
      this.renewing = null;
    }
    this.deps.log.info({ expiresAt: this.current.expiresAt }, "renewed the agent's installation token");
    return true;
  }

  /** Revokes every token of the run; one that cannot be revoked expires on its own within the hour. */
  async revokeAll(): Promise<void> {
    this.closed = true;
    await this.renewing;
    for (const token of this.issued.splice(0)) {
      await this.deps.github
        .revokeToken(token)
        .catch((error: unknown) => this.deps.log.warn({ err: error }, "could not revoke the agent's token"));
    }
  }
}
