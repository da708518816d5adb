import { sql } from "drizzle-orm";
import pino from "pino";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { isDatabaseUnreachable } from "../../src/db/unreachable.js";
import { AfterResponseTasks, DeliveriesInFlight } from "../../src/github/intake/after-response.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";

describe("follow-up work after the webhook response", () => {
  it("runs after the caller returns, at most N at a time, in order, and idle() waits for tasks started by tasks", async () => {
    const tasks = new AfterResponseTasks(pino({ level: "silent" }), 2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const work = (n: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      order.push(n);
      running--;
      if (n === 0) tasks.run("child", work(99));
    };
    for (let n = 0; n < 6; n++) tasks.run(`task ${n}`, work(n));
    expect(order).toEqual([]); // nothing ran yet: the caller answers first
    await tasks.idle();
    expect(peak).toBe(2);
    expect(order.slice(0, 2).sort()).toEqual([0, 1]);
    expect(order).toContain(99);
    expect(order).toHaveLength(7);
  });

  it("gives way to deliveries being answered: one task at a time while any is in flight, all N once none has been for a while", async () => {
    const clock = new ManualClock(T0);
    const deliveries = new DeliveriesInFlight(clock, 100);
    const tasks = new AfterResponseTasks(pino({ level: "silent" }), 4, 2000, deliveries);
    const peaks: number[] = [];
    let running = 0;
    const gates: Array<() => void> = [];
    const work = async () => {
      running++;
      peaks.push(running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
    };
    const first = deliveries.start();
    const second = deliveries.start();
    for (let n = 0; n < 6; n++) tasks.run(`task ${n}`, work);
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(1);
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(1);
    first();
    first(); // a second call does not count the delivery out twice
    await new Promise((r) => setImmediate(r));
    expect(deliveries.busy).toBe(true);
    expect(running).toBe(1);
    second();
    await new Promise((r) => setImmediate(r));
    // None in flight, but a burst's next delivery may be a moment away.
    expect(running).toBe(1);
    clock.advance(60);
    const third = deliveries.start();
    clock.advance(60);
    third();
    clock.advance(99);
    await new Promise((r) => setImmediate(r));
    expect(deliveries.busy).toBe(true);
    expect(running).toBe(1);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(deliveries.busy).toBe(false);
    expect(running).toBe(4);
    for (const open of gates.splice(0)) open();
    await new Promise((r) => setImmediate(r));
    for (const open of gates.splice(0)) open();
    await tasks.idle();
    expect(Math.max(...peaks)).toBe(4);
  });

  it("a failing task is logged and does not stop the others", async () => {
    const lines: string[] = [];
    const log = pino({ level: "error" }, { write: (line: string) => lines.push(line) });
    const tasks = new AfterResponseTasks(log, 1);
    let ran = false;
    tasks.run("broken", async () => {
      throw new Error("GitHub is down");
    });
    tasks.run("fine", async () => {
      ran = true;
    });
    await tasks.idle();
    expect(ran).toBe(true);
    expect(lines.join("")).toContain("broken failed");
  });

  it("beyond its backlog it drops new tasks (their work waits in the database for the sweep)", async () => {
    const tasks = new AfterResponseTasks(pino({ level: "silent" }), 1, 3);
    const ran: number[] = [];
    for (let n = 0; n < 6; n++) {
      tasks.run(`task ${n}`, async () => {
        ran.push(n);
      });
    }
    await tasks.idle();
    expect(ran).toEqual([0, 1, 2]);
  });

  it("a task that finds the database unreachable pauses the queue, 1 s doubling, one task at a time until one gets through, with one log line per pause", async () => {
    // A real driver's error: nothing listens on port 1.
    const away = openPostgres({ url: "postgres://labelrun@127.0.0.1:1/none", max: 1, connectTimeoutSeconds: 2 });
    const unreachable = await away.db.execute(sql`select 1`).then(
      () => null,
      (error: unknown) => error,
    );
    await away.close();
    expect(unreachable).not.toBeNull();

    const clock = new ManualClock(T0);
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const tasks = new AfterResponseTasks(log, 4, 2000, undefined, clock);
    let databaseUp = false;
    const tries: number[] = [];
    const dispatch = (n: number) => async () => {
      tries.push(n);
      if (!databaseUp) throw unreachable;
    };
    for (let n = 0; n < 50; n++) tasks.run(`dispatch ${n}`, dispatch(n));
    const settle = async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    // The first four were running when the first failed; nothing more until the pause ends.
    expect(tries).toEqual([0, 1, 2, 3]);
    clock.advance(999);
    await settle();
    expect(tries).toHaveLength(4);
    clock.advance(1);
    await settle();
    expect(tries).toEqual([0, 1, 2, 3, 4]); // one try, which fails: the next pause is 2 s
    clock.advance(1_999);
    await settle();
    expect(tries).toHaveLength(5);
    databaseUp = true;
    clock.advance(1);
    await settle();
    await tasks.idle();
    expect(tries).toHaveLength(50);
    expect(tries.slice(5)).toEqual(Array.from({ length: 45 }, (_, i) => i + 5));
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string; pauseMs?: number });
    expect(warnings.map((w) => w.pauseMs)).toEqual([1_000, 2_000]);
    expect(warnings.every((w) => /database is unreachable/.test(w.msg))).toBe(true);
  });

  it("other failures do not pause it", async () => {
    const clock = new ManualClock(T0);
    const tasks = new AfterResponseTasks(pino({ level: "silent" }), 1, 2000, undefined, clock);
    const ran: number[] = [];
    for (let n = 0; n < 3; n++)
      tasks.run(`task ${n}`, async () => {
        ran.push(n);
        throw Object.assign(new Error("duplicate key"), { code: "23505" });
      });
    await tasks.idle();
    expect(ran).toEqual([0, 1, 2]);
  });
});

describe.runIf(postgresAvailable)("the database unreachable, as the real server says it", () => {
  const database = useTestDatabase("postgres");

  it("a database that does not exist and a closed port are unreachable; a failing statement is not", async () => {
    const url = new URL(database.url as string);
    url.pathname = "/labelrun_no_such_database";
    const missing = openPostgres({ url: url.toString(), max: 1 });
    const refused = openPostgres({ url: "postgres://labelrun@127.0.0.1:1/none", max: 1, connectTimeoutSeconds: 2 });
    const raw = postgres(url.toString(), { max: 1, onnotice: () => {} });
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => null,
        (error: unknown) => error,
      );
    try {
      expect(isDatabaseUnreachable(await failure(missing.db.execute(sql`select 1`)))).toBe(true);
      expect(isDatabaseUnreachable(await failure(raw`select 1`))).toBe(true);
      expect(isDatabaseUnreachable(await failure(refused.db.execute(sql`select 1`)))).toBe(true);
      expect(isDatabaseUnreachable(await failure(database.db.execute(sql`select 1/0`)))).toBe(false);
      expect(isDatabaseUnreachable(new Error("GitHub is down"))).toBe(false);
      expect(isDatabaseUnreachable(null)).toBe(false);
    } finally {
      await Promise.all([missing.close(), refused.close(), raw.end()]);
    }
  });
});
