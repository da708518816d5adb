import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../clock.js";
import { FailureLimiter, type SlowDownPolicy } from "./failure-limiter.js";
import { memorySessions, type SessionPerson, type SessionRecord, type SessionStore } from "./session-store.js";

export const SESSION_COOKIE = "labelrun_session";
const SESSION_MS = 12 * 3600_000;

export type Access =
  | {
      ok: true;
      actor: string;
      via: "bearer" | "session" | "loopback" | "github";
      csrf: string;
      /** Signed in with GitHub: sees the jobs of their installations, acts where they may write. */
      person?: SessionPerson;
    }
  | { ok: false; status: 401 | 403 | 429; message: string };

/**
 * Who may use the dashboard, API and SSE stream. With ADMIN_TOKEN: a bearer
 * token, or a session cookie got by entering the token once — a random
 * secret whose hash the session store keeps (the database, so every web
 * process sees a sign-out), bound to the token it was opened with: signing
 * out revokes that session, changing ADMIN_TOKEN revokes them all. Without:
 * loopback requests only. Comparisons are constant-time.
 */
export class AdminAuth {
  private readonly failures: FailureLimiter;
  /** The loopback mode's CSRF token: random per process, never a constant a page elsewhere could know. */
  private readonly loopbackCsrf = randomBytes(24).toString("base64url");

  constructor(
    private readonly options: {
      adminToken?: string;
      clock: Clock;
      secureCookies: boolean;
      slowDown?: SlowDownPolicy;
      /** Where sessions live (default: this process's memory). */
      sessions?: SessionStore;
      /** The OAuth client secret when "Sign in with GitHub" is on: people's sessions are bound to it. */
      signInKey?: string;
    },
  ) {
    this.failures = new FailureLimiter(options.clock, options.slowDown);
    this.sessions = options.sessions ?? memorySessions();
    this.signInKey = options.signInKey;
  }

  private readonly sessions: SessionStore;

  get tokenConfigured(): boolean {
    return Boolean(this.options.adminToken);
  }

  get signInConfigured(): boolean {
    return Boolean(this.signInKey);
  }

  /** Turns "Sign in with GitHub" on once the setup page has saved an OAuth client. */
  enableSignIn(key: string): void {
    this.signInKey = key;
  }

  private signInKey: string | undefined;

  /**
   * Who is asking. A wrong bearer token or session cookie counts as a failed sign-in for its
   * address: past a few, each waits its turn (slow-down), and one that would wait too long is a 429.
   */
  async check(req: IncomingMessage): Promise<Access> {
    const token = this.options.adminToken;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (token && bearer !== undefined) {
      if (safeEqual(bearer, token)) return { ok: true, actor: "admin:token", via: "bearer", csrf: "" };
      return this.refuse(req, "the bearer token is wrong");
    }
    const session = readCookie(req, SESSION_COOKIE);
    const live = session ? await this.liveSession(session) : null;
    if (live?.person)
      return { ok: true, actor: live.person.login, via: "github", csrf: live.csrf, person: live.person };
    if (live) return { ok: true, actor: "admin:session", via: "session", csrf: live.csrf };
    if (!token) {
      const refused = loopbackRefusal(req);
      if (!refused) return { ok: true, actor: "admin:local", via: "loopback", csrf: this.loopbackCsrf };
      return {
        ok: false,
        status: 403,
        message: `no ADMIN_TOKEN is configured, so the dashboard and API answer only direct requests on loopback (127.0.0.1)${this.signInKey ? " or people signed in with GitHub" : ""}: ${refused}`,
      };
    }
    // A cookie that does not verify is a guess too; no cookie at all is just a visitor.
    if (session) return this.refuse(req, "the session is not valid (expired, or not signed by this server)");
    return { ok: false, status: 401, message: "sign in with the admin token (Authorization: Bearer …, or /login)" };
  }

  /**
   * A state-changing request must prove it comes from our own page: bearer
   * requests are not sent by browsers on their own; cookie and loopback
   * requests need the page's CSRF token in `x-csrf-token` (a custom header a
   * cross-site form cannot send) and, when the browser says, our own Origin.
   */
  csrfOk(req: IncomingMessage, access: Access & { ok: true }): boolean {
    if (access.via === "bearer") return true;
    const origin = req.headers.origin;
    if (origin !== undefined && originHost(origin) !== req.headers.host) return false;
    const header = req.headers["x-csrf-token"];
    return typeof header === "string" && safeEqual(header, access.csrf);
  }

  /** Checks a login attempt; returns the Set-Cookie value, or why not (a wrong token waits its turn). */
  async login(
    req: IncomingMessage,
    submitted: string,
  ): Promise<{ ok: true; cookie: string } | { ok: false; status: 401 | 429 | 400 }> {
    const token = this.options.adminToken;
    if (!token) return { ok: false, status: 400 };
    if (!safeEqual(submitted, token)) {
      const refused = await this.refuse(req, "wrong token");
      return { ok: false, status: refused.status === 429 ? 429 : 401 };
    }
    const now = this.options.clock.now();
    const value = randomBytes(32).toString("base64url");
    await this.sessions.open(
      value,
      {
        tokenFingerprint: this.fingerprint(),
        csrf: randomBytes(24).toString("base64url"),
        expiresAt: new Date(now.getTime() + SESSION_MS),
        person: null,
      },
      now,
    );
    return { ok: true, cookie: this.sessionCookie(req, value) };
  }

  /** Opens a session for someone GitHub just vouched for; returns the Set-Cookie value. */
  async signInPerson(req: IncomingMessage, person: SessionPerson): Promise<string> {
    if (!this.signInKey) throw new Error("sign-in with GitHub is not configured");
    const now = this.options.clock.now();
    const value = randomBytes(32).toString("base64url");
    await this.sessions.open(
      value,
      {
        tokenFingerprint: this.fingerprint(this.signInKey),
        csrf: randomBytes(24).toString("base64url"),
        expiresAt: new Date(now.getTime() + SESSION_MS),
        person,
      },
      now,
    );
    return this.sessionCookie(req, value);
  }

  private sessionCookie(req: IncomingMessage, value: string): string {
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${this.secureSuffix(req)}`;
  }

  /** Signs out: the request's session is revoked (for every process); returns the cookie that clears it. */
  async signOut(req: IncomingMessage): Promise<string> {
    const session = readCookie(req, SESSION_COOKIE);
    if (session && /^[A-Za-z0-9_-]{43}$/.test(session)) await this.sessions.revoke(session, this.options.clock.now());
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${this.secureSuffix(req)}`;
  }

  /** `Secure` whenever this request came over HTTPS (directly, or as the proxy in front says). */
  private secureSuffix(req: IncomingMessage): string {
    return this.options.secureCookies || isHttps(req) ? "; Secure" : "";
  }

  private async refuse(req: IncomingMessage, message: string): Promise<Access & { ok: false }> {
    const allowed = await this.failures.failed(req.socket.remoteAddress ?? "unknown");
    if (!allowed)
      return { ok: false, status: 429, message: "too many failed attempts from this address: try again later" };
    return { ok: false, status: 401, message };
  }

  /** The session this cookie opened, while it lives and the token it was opened with is still the token. */
  private async liveSession(value: string): Promise<SessionRecord | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return null;
    const found = await this.sessions.find(value, this.options.clock.now());
    if (!found) return null;
    // A person's session lives while the OAuth client it was opened with does; an admin's, the token.
    const key = found.person ? this.signInKey : this.options.adminToken;
    return key && safeEqual(found.tokenFingerprint, this.fingerprint(key)) ? found : null;
  }

  /** Which ADMIN_TOKEN (or OAuth client) a session was opened with, without storing it. */
  private fingerprint(key = this.options.adminToken ?? ""): string {
    return createHmac("sha256", "labelrun-session-token").update(key).digest("base64url");
  }
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Compare equal-length digests so the time does not depend on where they differ, nor on length.
  const l = createHmac("sha256", "compare").update(left).digest();
  const r = createHmac("sha256", "compare").update(right).digest();
  return timingSafeEqual(l, r) && left.length === right.length;
}

/**
 * Why a request cannot use the loopback mode, or null when it can: it must come from loopback,
 * not through a proxy on the same host (which makes every request look local), and name a
 * loopback host (a DNS-rebound name would let a web page on another site reach it).
 */
function loopbackRefusal(req: IncomingMessage): string | null {
  const address = req.socket.remoteAddress ?? "";
  if (!["127.0.0.1", "::1", "::ffff:127.0.0.1"].includes(address)) return "this request came from elsewhere";
  if (req.headers.forwarded || req.headers["x-forwarded-for"] || req.headers["x-real-ip"]) {
    return "this request came through a proxy; set ADMIN_TOKEN to serve behind one";
  }
  const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
  if (!["localhost", "127.0.0.1", "[::1]"].includes(host))
    return `the Host \`${host.slice(0, 100)}\` is not a loopback name`;
  return null;
}

/** The host of an Origin header, or a value no Host equals when it is malformed (`null`, garbage). */
export function originHost(origin: string): string {
  try {
    return new URL(origin).host || "\u0000";
  } catch {
    return "\u0000";
  }
}

function isHttps(req: IncomingMessage): boolean {
  const socket = req.socket as { encrypted?: boolean };
  return (
    socket.encrypted === true ||
    String(req.headers["x-forwarded-proto"] ?? "")
      .split(",")[0]
      ?.trim() === "https"
  );
}

export function readCookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

export function denied(res: ServerResponse, access: Access & { ok: false }, wantsHtml: boolean): void {
  if (wantsHtml && access.status === 401) {
    res.writeHead(303, { location: "/login" });
    res.end();
    return;
  }
  res.writeHead(access.status, { "content-type": "application/json; charset=utf-8" });
  res.end(
    JSON.stringify({ error: { code: access.status === 401 ? "unauthorized" : "forbidden", message: access.message } }),
  );
}
