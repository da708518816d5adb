import type { Database } from "./client.js";

/** A request waiting for the next turn, and how its caller is answered. */
export interface SameTurnEntry<Request, Result> {
  request: Request;
  answer: (result: Promise<Result>) => void;
}

/**
 * Requests to one database made in one turn of the event loop, sent together
 * at the next turn (`setImmediate`): `send` gets them all and answers each.
 * Under load the requests answered in one turn grow in number, so one
 * statement, one write to the socket and one commit serve several callers;
 * alone a request waits for nothing but the end of its own turn.
 */
export class SameTurn<Request, Result> {
  private readonly waiting = new WeakMap<Database, SameTurnEntry<Request, Result>[]>();

  constructor(private readonly send: (db: Database, batch: readonly SameTurnEntry<Request, Result>[]) => void) {}

  /** Whether a request waiting for `db`'s next batch matches (to send a clashing one alone). */
  some(db: Database, matches: (request: Request) => boolean): boolean {
    return this.waiting.get(db)?.some((entry) => matches(entry.request)) ?? false;
  }

  add(db: Database, request: Request): Promise<Result> {
    let batch = this.waiting.get(db);
    if (!batch) {
      const these: SameTurnEntry<Request, Result>[] = [];
      this.waiting.set(db, these);
      setImmediate(() => {
        this.waiting.delete(db);
        try {
          this.send(db, these);
        } catch (error) {
          // Never leave a caller waiting: a batch that cannot be sent fails each of its requests.
          for (const entry of these) entry.answer(Promise.reject(error));
        }
      });
      batch = these;
    }
    const entries = batch;
    return new Promise<Result>((resolve, reject) => {
      entries.push({ request, answer: (result) => result.then(resolve, reject) });
    });
  }
}
