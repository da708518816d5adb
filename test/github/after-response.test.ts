import pino from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { AfterResponseTasks, DeliveriesInFlight } from "../../src/github/intake/after-response.js";
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
});
