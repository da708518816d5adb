import { createHash } from "node:crypto";
import { and, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { Database } from "../db/client.js";
import { adminSessions } from "../db/schema.js";

/** Someone signed in with GitHub: who, and the installations of this App they could see when they did. */
export interface SessionPerson {
  login: string;
  installationIds: number[];
}

export interface SessionRecord {
  tokenFingerprint: string;
  csrf: string;
  expiresAt: Date;
  /** Null for a session opened with the admin token. */
  person: SessionPerson | null;
}

/** Where signed-in sessions live: the database for a real server (every process sees a sign-out). */
export interface SessionStore {
  open(secret: string, session: SessionRecord, at: Date): Promise<void>;
  /** The live session with this secret, or null (unknown, expired, revoked). */
  find(secret: string, now: Date): Promise<SessionRecord | null>;
  revoke(secret: string, at: Date): Promise<void>;
}

const hash = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** Sessions in `admin_sessions`; only the secret's hash is stored. Expired and revoked rows are pruned as new ones open. */
export function databaseSessions(db: Database): SessionStore {
  return {
    async open(secret, session, at) {
      await db
        .delete(adminSessions)
        .where(or(lt(adminSessions.expiresAt, at), lt(adminSessions.revokedAt, new Date(at.getTime() - 86_400_000))));
      const { person, ...rest } = session;
      await db.insert(adminSessions).values({
        secretHash: hash(secret),
        ...rest,
        login: person?.login ?? null,
        installationIds: person?.installationIds ?? null,
        createdAt: at,
      });
    },
    async find(secret, now) {
      const [row] = await db
        .select()
        .from(adminSessions)
        .where(
          and(
            eq(adminSessions.secretHash, hash(secret)),
            isNull(adminSessions.revokedAt),
            gt(adminSessions.expiresAt, now),
          ),
        );
      if (!row) return null;
      const person = row.login ? { login: row.login, installationIds: row.installationIds ?? [] } : null;
      return { tokenFingerprint: row.tokenFingerprint, csrf: row.csrf, expiresAt: row.expiresAt, person };
    },
    async revoke(secret, at) {
      await db
        .update(adminSessions)
        .set({ revokedAt: at })
        .where(eq(adminSessions.secretHash, hash(secret)));
    },
  };
}

/** Sessions in this process's memory (tests, and a server given no database), at most `max` of them. */
export function memorySessions(max = 1_000): SessionStore {
  const sessions = new Map<string, SessionRecord & { revoked: boolean }>();
  return {
    async open(secret, session) {
      if (sessions.size >= max) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) sessions.delete(oldest);
      }
      sessions.set(hash(secret), { ...session, revoked: false });
    },
    async find(secret, now) {
      const found = sessions.get(hash(secret));
      return found && !found.revoked && found.expiresAt > now ? found : null;
    },
    async revoke(secret) {
      const found = sessions.get(hash(secret));
      if (found) found.revoked = true;
    },
  };
}
