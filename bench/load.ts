// test:load — 2,000 signed deliveries as fast as the machine takes them, with 10 % repeats of
// the same delivery id and 50 concurrent triggers on one issue, against the real `web` process
// on PostgreSQL (loopback only). Then the database must show: each distinct trigger delivery
// has exactly one job, repeats added none, the 50-way race left one active job, no delivery
// failed and the web process logged no error. Exits 1 if any of that is not so.

import type { ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { sql } from "drizzle-orm";
import { startFakeGitHub } from "../test/support/fake-github.js";
import { benchAppEnv, benchDatabase, issuesPayload, signedHeaders, startProcess } from "./support.js";

const TOTAL = 2000;
const RACE = 50;
const CONCURRENCY = 50;
const RACE_ISSUE = 1;

interface Delivery {
  id: string;
  body: string;
  trigger: boolean;
}

// Distinct deliveries: the 50-way race on issue 1, then triggers and other labels on their own issues.
const distinct: Delivery[] = [];
for (let i = 0; i < RACE; i++) {
  distinct.push({
    id: `race-${i}`,
    body: JSON.stringify(issuesPayload("labeled", RACE_ISSUE, "agent:implement")),
    trigger: true,
  });
}
const repeats = Math.round(TOTAL * 0.1);
for (let n = 0; distinct.length < TOTAL - repeats; n++) {
  const trigger = n % 4 !== 3;
  distinct.push({
    id: `d-${n}`,
    body: JSON.stringify(issuesPayload("labeled", 1000 + n, trigger ? "agent:implement" : "bug")),
    trigger,
  });
}
// 10 % are the same delivery again (GitHub redelivering), mixed in among the rest.
const plan: Delivery[] = [...distinct];
for (let i = 0; i < repeats; i++) {
  const again = distinct[RACE + ((i * 7) % (distinct.length - RACE))] as Delivery;
  plan.splice(RACE + Math.floor((i * (plan.length - RACE)) / repeats), 0, again);
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function send(port: number, delivery: Delivery): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/api/github/webhooks",
        method: "POST",
        agent,
        headers: signedHeaders(delivery.body, delivery.id),
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(delivery.body);
  });
}

const database = await benchDatabase("load");
const github = await startFakeGitHub();
const errors: string[] = [];
let web: ChildProcess | null = null;
let failed = false;
try {
  const started = await startProcess(
    ["src/bin/web.ts"],
    benchAppEnv(github.url, { DATABASE_URL: database.url }),
    (line) => {
      if (/"level":(50|60)/.test(line)) errors.push(line);
    },
  );
  web = started.child;
  const t0 = performance.now();
  // The race first, all at once; then the rest, CONCURRENCY in flight.
  const raceStatuses = await Promise.all(plan.slice(0, RACE).map((d) => send(started.port, d)));
  const statuses = [...raceStatuses];
  let next = RACE;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < plan.length) {
        const delivery = plan[next++] as Delivery;
        statuses.push(await send(started.port, delivery));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;

  const rows = (await database.handle.db.execute(
    sql`select delivery_id, target_number, status, failure_code from jobs`,
  )) as unknown as Array<{ delivery_id: string; target_number: number; status: string; failure_code: string | null }>;
  const byDelivery = new Map<string, number>();
  for (const row of rows) byDelivery.set(row.delivery_id, (byDelivery.get(row.delivery_id) ?? 0) + 1);
  const triggers = distinct.filter((d) => d.trigger);
  const missing = triggers.filter((d) => byDelivery.get(d.id) !== 1);
  const extra = rows.length - triggers.length;
  const race = rows.filter((r) => r.target_number === RACE_ISSUE);
  const raceActive = race.filter((r) => !["cancelled", "failed", "completed", "abandoned"].includes(r.status));
  const non2xx = statuses.filter((s) => s < 200 || s >= 300).length;

  console.log(`| check | value |\n|---|---|`);
  console.log(
    `| deliveries sent (incl. ${repeats} repeats) | ${statuses.length} in ${seconds.toFixed(1)} s (${(statuses.length / seconds).toFixed(0)}/s) |`,
  );
  console.log(`| non-2xx answers | ${non2xx} |`);
  console.log(
    `| distinct trigger deliveries with exactly one job | ${triggers.length - missing.length} of ${triggers.length} |`,
  );
  console.log(`| jobs beyond one per trigger delivery (repeats) | ${extra} |`);
  console.log(
    `| 50-way race: jobs / active / cancelled duplicates | ${race.length} / ${raceActive.length} / ${race.filter((r) => r.failure_code === "DUPLICATE").length} |`,
  );
  console.log(`| error lines in the web log | ${errors.length} |`);
  failed =
    non2xx > 0 ||
    missing.length > 0 ||
    extra !== 0 ||
    raceActive.length !== 1 ||
    race.length !== RACE ||
    errors.length > 0;
  for (const line of errors.slice(0, 5)) console.log(`error: ${line.slice(0, 300)}`);
  console.log(
    `\ntest:load: ${failed ? "FAILED" : "passed"}, ${statuses.length} deliveries at ${(statuses.length / seconds).toFixed(0)}/s`,
  );
} finally {
  web?.kill("SIGTERM");
  agent.destroy();
  await github.close();
  await new Promise((r) => setTimeout(r, 1500));
  await database.drop();
}
process.exit(failed ? 1 : 0);
