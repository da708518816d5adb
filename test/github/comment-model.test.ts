import { sql } from "drizzle-orm";
import nock from "nock";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntake } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import { parseJobTypes } from "../../src/config/job-types.js";
import { queryRows } from "../../src/db/client.js";
import type { JobRow } from "../../src/db/schema.js";
import { checkRunForJob } from "../../src/github/check-runs/check-run-for-job.js";
import { AfterResponseTasks } from "../../src/github/intake/after-response.js";
import { buildIntakeDeps } from "../../src/github/intake/build-intake-deps.js";
import type { AfterResponse } from "../../src/github/intake/intake-deps.js";
import { buildJobServices } from "../../src/github/job-services.js";
import { octokitPort } from "../../src/github/octokit-port.js";
import { renderStatusComment } from "../../src/github/status-comment/render-status-comment.js";
import { claimNextJob } from "../../src/jobs/claim-next-job.js";
import { findJobsForTarget } from "../../src/jobs/find-jobs.js";
import { queuedReasons } from "../../src/jobs/queued-reason.js";
import { runSweeps } from "../../src/maintenance/run-sweeps.js";
import { finish } from "../../src/worker/finish-run.js";
import type { RunJobDeps } from "../../src/worker/run-job.js";
import type { RunOutcome } from "../../src/worker/run-outcome.js";
import { closed, commented, labeled, REPO, unlabeled } from "../fixtures/webhooks.js";
import { postgresAvailable, useTestDatabase } from "../support/databases.js";
import { T0 } from "../support/factories.js";
import { makeProbot } from "../support/github-harness.js";
import { GitHubModel } from "../support/github-model.js";
import { makeSweepDeps } from "../support/sweep-harness.js";

const JOB_TYPES = parseJobTypes(`
job_types:
  implement:
    command: ["node", "agent.mjs"]
    label: "agent:implement"
    max_attempts: 2
    follow_up: review
  review:
    command: ["node", "agent.mjs"]
    label: "agent:review"
    after: [implement]
  gated:
    command: ["node", "agent.mjs"]
    label: "agent:gated"
    require_approval: true
`);
const LABELS = ["agent:implement", "agent:review", "agent:gated"] as const;
const COMMANDS = ["cancel", "retry", "pause", "resume", "approve", "reject", "interrupt"] as const;
const SEQUENCES = Number(process.env.MODEL_SEQUENCES ?? 150);
const STEPS = 16;
const SEED = Number(process.env.MODEL_SEED ?? 20261124);

/** A small seeded generator (mulberry32): the same seed replays the same sequences. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T };
}

/** The after-response queue of a process that may die: each task is dropped with probability `p`. */
class DroppingQueue implements AfterResponse {
  dropRate = 0;
  constructor(
    private readonly inner: AfterResponseTasks,
    private readonly chance: () => number,
  ) {}
  run(name: string, task: () => Promise<unknown>): void {
    if (this.chance() < this.dropRate) return;
    this.inner.run(name, task);
  }
  idle = () => this.inner.idle();
}

describe.runIf(postgresAvailable)(
  "model: after any sequence and any crash, each target's comment is the render of its records",
  () => {
    const database = useTestDatabase("postgres", { max: 10 });
    const github = new GitHubModel();
    beforeAll(() => {
      nock.disableNetConnect();
      nock.enableNetConnect(/127\.0\.0\.1|localhost/);
      github.install();
    });
    afterAll(() => {
      nock.cleanAll();
    });

    it(`${SEQUENCES} seeded sequences (seed ${SEED}) of triggers, commands, closes, worker outcomes and crashes`, async () => {
      const rng = random(SEED);
      const log = pino({ level: "silent" });
      const clock = new ManualClock(T0);
      const tasks = new AfterResponseTasks(log);
      // Drops draw from a stream of their own: tasks queue at times the machine's load decides, and
      // drawing them from the steps' stream made the steps themselves differ from run to run.
      const drops = random(SEED ^ 0x5bd1e995);
      const after = new DroppingQueue(tasks, drops.next);
      const probot = makeProbot(log);
      const port = octokitPort((id) => probot.auth(id) as never);
      /** The processes' wiring; `firstCommentDelayMs` as FIRST_COMMENT_DELAY_SECONDS sets it (0: at once). */
      const wire = (firstCommentDelayMs: number) => {
        const collaborators = {
          db: database.db,
          github: port,
          jobTypes: JOB_TYPES,
          clock,
          log,
          writerId: "model",
          firstCommentDelayMs,
        };
        const intake = buildIntakeDeps({ ...collaborators, after, commentQueue: after });
        const services = buildJobServices({ ...collaborators, commentQueue: after });
        const { deps: sweepDeps } = makeSweepDeps(database.db, {
          clock,
          log,
          dispatch: services.dispatch,
          syncComment: services.syncComment,
          onJobChanged: services.onJobChanged,
          runCommand: intake.runCommand,
        });
        return { receive: createIntake(intake), services, sweepDeps };
      };
      let delivery = 0;
      let commentId = 100_000;
      const failures: string[] = [];
      const seen = new Map<string, number>();

      for (let sequence = 0; sequence < SEQUENCES; sequence++) {
        await database.reset();
        github.reset();
        // Every other sequence as production runs: a target's first comment waits 5 s while its job is active.
        const { receive, services, sweepDeps } = wire(sequence % 2 ? 5_000 : 0);
        after.dropRate = rng.pick([0, 0, 0.3, 0.7]);
        // Comment writes paced as Probot paces them: changes land while a write is in flight.
        github.writeDelayMs = rng.pick([0, 0, 0, 25]);
        const trace: string[] = [];
        const claims: JobRow[] = [];
        // A worker that may die right after its change, before telling the comment and the reactions.
        const killedBeforeReaction = () => drops.next() < after.dropRate;
        const worker = {
          db: database.db,
          clock,
          settings: { workerId: "model-worker" },
          onJobChanged: (job: JobRow) => (killedBeforeReaction() ? Promise.resolve() : services.onJobChanged(job)),
        } as unknown as RunJobDeps;
        const deliver = (event: { name: string; payload: Record<string, unknown> }) =>
          receive({ id: `model-${++delivery}`, name: event.name, payload: event.payload });

        for (let step = 0; step < STEPS; step++) {
          const roll = rng.next();
          const label = rng.pick(LABELS);
          clock.advance(1_000);
          if (roll < 0.16) {
            trace.push(`label ${label}`);
            await deliver(labeled({ label }));
          } else if (roll < 0.21) {
            trace.push(`3 labels at once ${label}`);
            await Promise.all([1, 2, 3].map(() => deliver(labeled({ label }))));
          } else if (roll < 0.27) {
            trace.push(`unlabel ${label}`);
            await deliver(unlabeled({ label }));
          } else if (roll < 0.37) {
            const command = rng.pick(COMMANDS);
            const type = rng.next() < 0.5 ? ` ${label.slice("agent:".length)}` : "";
            trace.push(`/labelrun ${command}${type}`);
            await deliver(commented({ body: `/labelrun ${command}${type}`, commentId: ++commentId }));
          } else if (roll < 0.4) {
            trace.push("answer");
            await deliver(
              commented({ body: "PostgreSQL", commentId: ++commentId, createdAt: clock.now().toISOString() }),
            );
          } else if (roll < 0.42) {
            trace.push("close");
            github.closed.add(1);
            await deliver(closed({}));
          } else if (roll < 0.85 && !(claims.length && rng.next() < 0.6)) {
            const job = await claimNextJob(database.db, {
              workerId: "model-worker",
              at: clock.now(),
              leaseSeconds: 60,
              installationLimit: 10,
            });
            trace.push(`claim ${job ? `#${job.id}` : "(none)"}`);
            if (job) {
              claims.push(job);
              await worker.onJobChanged(job);
            }
          } else if (roll < 0.85 && rng.next() < 0.9) {
            const job = claims.shift() as JobRow;
            const outcome = rng.pick<RunOutcome>([
              { to: "completed", patch: { resultSummary: "done" } },
              { to: "completed", patch: { resultUrl: `https://github.com/${REPO.fullName}/pull/${50 + sequence}` } },
              { to: "failed", code: "NO_OUTPUT", message: "no result" },
              { to: "deferred", code: "AGENT_ERROR", message: "try later", retryAfterMs: null },
              { to: "deferred", code: "WORKER_LOST", message: "shutting down", retryAfterMs: 5_000 },
              { to: "awaiting_input", question: "Which database?" },
              { to: null, message: "taken" },
            ]);
            trace.push(`finish #${job.id} ${outcome.to ?? "lost"}${"code" in outcome ? ` ${outcome.code}` : ""}`);
            await finish(worker, job, log, outcome);
          } else if (roll < 0.85) {
            trace.push(`worker crash with #${claims[0]?.id}`);
            claims.length = 0;
          } else {
            trace.push("tick");
            await tasks.idle();
            clock.advance(15_000);
            await runSweeps(sweepDeps);
          }
        }

        // The process that dropped work is gone; the maintenance loop goes on alone until nothing is behind.
        await tasks.idle();
        after.dropRate = 0;
        // Six ticks at least (90 s: past the workers' leases), then on while anything is behind.
        for (let tick = 0; tick < 26 && (tick < 6 || (await behind(database.db)) > 0); tick++) {
          clock.advance(15_000);
          await runSweeps(sweepDeps);
          await tasks.idle();
        }
        for (const row of await queryRows<{ status: string; n: string }>(
          database.db,
          sql`select status::text, count(*) as n from jobs group by status`,
        ))
          seen.set(row.status, (seen.get(row.status) ?? 0) + Number(row.n));
        seen.set("status comments", (seen.get("status comments") ?? 0) + github.statusComments(1).length);
        seen.set("check runs", (seen.get("check runs") ?? 0) + github.checkRuns.size);
        const problem = await check(database.db, github);
        if (problem) failures.push(`sequence ${sequence}: ${problem}\n  steps: ${trace.join(" → ")}`);
        if (failures.length >= 3) break;
      }
      console.log(`model: ${JSON.stringify(Object.fromEntries(seen))}`);
      expect(failures).toEqual([]);
      // Not vacuous: the sequences reached every end a job can have, and comments were written.
      for (const state of ["completed", "failed", "cancelled", "deferred", "queued"])
        expect(seen.get(state)).toBeGreaterThan(0);
      expect(seen.get("status comments")).toBeGreaterThan(SEQUENCES / 2);
      // Follow-up jobs on the agents' pull requests had check runs to keep in step.
      expect(seen.get("check runs")).toBeGreaterThan(0);
    }, 600_000);
  },
);

/** Comments and reactions still behind their records. */
async function behind(db: Parameters<typeof queryRows>[0]): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(
    db,
    sql`select (select count(*) from status_comments where version > synced_version)
             + (select count(*) from jobs where reaction_version > reacted_version) as n`,
  );
  return Number(row?.n ?? 0);
}

/** The property: for every target, exactly one status comment, equal to the render of its jobs. */
async function check(db: Parameters<typeof queryRows>[0], github: GitHubModel): Promise<string | null> {
  if ((await behind(db)) > 0) return "marks still behind after 20 maintenance ticks";
  const targets = await queryRows<{ n: number }>(db, sql`select distinct target_number as n from jobs`);
  const numbers = new Set([...targets.map((t) => Number(t.n)), ...[...github.comments.values()].map((c) => c.issue)]);
  for (const number of numbers) {
    const jobs = await findJobsForTarget(db, { repositoryId: REPO.id, targetNumber: number });
    const comments = github.statusComments(number);
    if (!jobs.length) {
      if (comments.length) return `#${number} has ${comments.length} status comments and no jobs`;
      continue;
    }
    if (comments.length !== 1) return `#${number} has ${comments.length} status comments`;
    // Why a queued job waits is read from the records too (no worker is online in the model).
    const waiting = await queuedReasons(db, jobs, { installationLimit: 2, jobTypes: JOB_TYPES }, new Date());
    const expected = renderStatusComment({ jobs, waiting });
    if (comments[0]?.body !== expected) {
      return `#${number}'s comment is not the render of its records:\n--- shown\n${comments[0]?.body}\n--- records\n${expected}`;
    }
    // And on a pull request: one check run per job that ran or will, in step with its record.
    for (const job of jobs) {
      const want = checkRunForJob(job, {});
      const runs = [...github.checkRuns.values()].filter((run) => run.externalId === String(job.id));
      if (!want) {
        if (runs.length) return `job #${job.id} has a check run it should not have`;
        continue;
      }
      if (runs.length !== 1) return `job #${job.id} has ${runs.length} check runs`;
      if (runs[0]?.status !== want.status || runs[0]?.conclusion !== (want.conclusion ?? null)) {
        return `job #${job.id} (${job.status}) shows check run ${runs[0]?.status}/${runs[0]?.conclusion}, not ${want.status}/${want.conclusion}`;
      }
    }
  }
  return null;
}
