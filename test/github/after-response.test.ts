import pino from "pino";
import { describe, expect, it } from "vitest";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";

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
