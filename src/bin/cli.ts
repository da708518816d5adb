// The admin CLI: jobs, job, the job actions (cancel, retry, …), migrate, sweep — against the database
// directly (DATABASE_URL, or the embedded folder when no other process holds it).
// Only wiring and printing here.
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import pino from "pino";
import { createIntake } from "../app.js";
import { systemClock } from "../clock.js";
import { EnvError, loadEnv } from "../config/env.js";
import { type JobTypes, loadJobTypes } from "../config/job-types.js";
import { createLogger } from "../config/logger.js";
import { migrate } from "../db/migrate.js";
import { coerceError } from "../errors.js";
import { AfterResponseTasks } from "../github/intake/after-response.js";
import { buildIntakeDeps } from "../github/intake/build-intake-deps.js";
import { findJobsForTarget, getJob, listJobEvents } from "../jobs/find-jobs.js";
import { actOnJob } from "../jobs/job-actions.js";
import { listJobs } from "../jobs/list-jobs.js";
import { quotasFor, usageThisMonth } from "../jobs/quota.js";
import { runSweeps } from "../maintenance/run-sweeps.js";
import { BadRequestError, parseJobFilters } from "../web/api/job-filters.js";
import { defaultWorkerId, openDatabase } from "./boot.js";
import { jobDetail, jobsTable, table } from "./cli-format.js";
import { doctor } from "./doctor.js";
import { buildGitHubServices } from "./github-services.js";
import { sweepDepsFrom } from "./start-maintenance.js";

const USAGE = `usage: labelrun <command> [options]

  jobs      list jobs, newest first   --status s[,s] --repository o/r --job-type t
                                      --installation n --account login --number n
                                      --limit n --before id
  job <id>  one job and its timeline
  cancel <id>   cancel an active job (recorded with you as the actor)
  retry <id>    a new job like re-adding the label, after the job ended
  approve|reject|pause|resume|interrupt <id>
                what the /labelrun comment commands do
  receive --event <name> --payload <file.json> [--id <delivery id>]
            replay a saved webhook delivery through the real pipeline (like
            \`probot receive\`): the job is recorded, dispatched and commented on
  doctor    check the App's credentials, the webhook secret, the database, git,
            the job types and their commands, and the sandbox: one line each
  usage     this month's jobs and cost per installation and repository, against the quotas
  migrate   apply the database migrations
  sweep     run the maintenance sweeps once

  --json    machine-readable output`;

const fail = (message: string, code = 1): never => {
  process.stderr.write(`labelrun: ${message}\n`);
  process.exit(code);
};

const { values, positionals } = parseCommandLine();

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        status: { type: "string" },
        repository: { type: "string" },
        "job-type": { type: "string" },
        installation: { type: "string" },
        account: { type: "string" },
        number: { type: "string" },
        limit: { type: "string" },
        before: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
        event: { type: "string" },
        payload: { type: "string" },
        id: { type: "string" },
      },
    });
  } catch (error) {
    // An unknown option (or `job -1`): one line and the usage, never a stack trace.
    return fail(`${coerceError(error).message.split("\n")[0]}\n\n${USAGE}`, 2);
  }
}
const [command, argument] = positionals;
const out = (text: string) => process.stdout.write(`${text}\n`);

if (values.help || !command) {
  out(USAGE);
  process.exit(command || values.help ? 0 : 2);
}
if (existsSync(".env")) process.loadEnvFile(".env");
let env: ReturnType<typeof loadEnv>;
try {
  env = loadEnv(process.env);
} catch (error) {
  fail(error instanceof EnvError ? error.message : coerceError(error).message);
  throw error;
}
// Logs go to stderr so stdout stays the command's answer.
const log = createLogger({
  level: env.LOG_LEVEL === "info" ? "warn" : env.LOG_LEVEL,
  destination: pino.destination(2),
});
const database = await openDatabase(env, log, { migrate: false });
const actor = `cli:${userInfo().username}`;
/** A job id as the database holds it: a positive whole number, at most 15 digits. */
const idArgument = () =>
  argument && /^[1-9]\d{0,14}$/.test(argument)
    ? Number(argument)
    : fail(`${command} needs a job id (a positive number)`, 2);

try {
  // A one-shot command writes the comments it sets off before it exits: no first-comment delay.
  const oneShotServices = (jobTypes: JobTypes) =>
    buildGitHubServices({
      env: { ...env, FIRST_COMMENT_DELAY_SECONDS: 0 },
      log,
      db: database.db,
      jobTypes,
      writerId: defaultWorkerId(env),
    });
  switch (command) {
    case "jobs": {
      const params = new URLSearchParams();
      for (const [flag, name] of [
        ["status", "status"],
        ["repository", "repository"],
        ["job-type", "job_type"],
        ["installation", "installation"],
        ["account", "account"],
        ["number", "number"],
        ["limit", "limit"],
        ["before", "before"],
      ] as const) {
        const value = values[flag];
        if (typeof value === "string") params.set(name, value);
      }
      const page = await listJobs(database.db, parseJobFilters(params));
      out(
        values.json
          ? JSON.stringify(page)
          : `${jobsTable(page.jobs)}${page.nextCursor ? `\n\nmore: --before ${page.nextCursor}` : ""}`,
      );
      break;
    }
    case "usage": {
      const usage = await usageThisMonth(database.db, new Date());
      if (values.json) {
        out(JSON.stringify(usage));
        break;
      }
      // The quotas come from the job-types file; without a readable one, usage is shown without them.
      let quotas: ReturnType<typeof loadJobTypes>["quotas"];
      try {
        quotas = loadJobTypes(env.LABELRUN_CONFIG).quotas;
      } catch {
        quotas = undefined;
      }
      const limit = (installationId: number, accountLogin: string | null) => {
        const quota = quotasFor(quotas, { installationId, repositoryFullName: "" }, accountLogin).installation;
        return quota
          ? [quota.jobs_per_month ?? "—", quota.cost_usd_per_month !== undefined ? `$${quota.cost_usd_per_month}` : "—"]
          : ["—", "—"];
      };
      out(
        `${usage.month} (resets ${usage.resetsAt.toISOString().slice(0, 10)})\n\n${table(
          ["INSTALLATION", "REPOSITORY", "JOBS", "COST", "JOB QUOTA", "COST QUOTA"],
          [
            ...usage.installations.map((i) => [
              `${i.installationId} (${i.accountLogin ?? "?"})`,
              "(all)",
              String(i.jobs),
              `$${i.costUsd.toFixed(2)}`,
              ...limit(i.installationId, i.accountLogin).map(String),
            ]),
            ...usage.repositories.map((r) => {
              const quota = quotas?.repositories[r.repository];
              return [
                String(r.installationId),
                r.repository,
                String(r.jobs),
                `$${r.costUsd.toFixed(2)}`,
                String(quota?.jobs_per_month ?? "—"),
                quota?.cost_usd_per_month !== undefined ? `$${quota.cost_usd_per_month}` : "—",
              ];
            }),
          ],
        )}`,
      );
      break;
    }
    case "job": {
      const id = idArgument();
      const job = await getJob(database.db, id);
      if (!job) fail(`no job ${id}`);
      const events = await listJobEvents(database.db, id);
      out(values.json ? JSON.stringify({ job, events }) : jobDetail(job as NonNullable<typeof job>, events));
      break;
    }
    case "cancel":
    case "retry":
    case "approve":
    case "reject":
    case "pause":
    case "resume":
    case "interrupt": {
      const id = idArgument();
      const job = await getJob(database.db, id);
      if (!job) fail(`no job ${id}`);
      // The same action as a comment command or a board button: its change marks the
      // status comment behind, and the next maintenance sweep writes it.
      const outcome = await actOnJob(database.db, systemClock, job as NonNullable<typeof job>, command, {
        actor,
        by: actor,
        approver: actor,
      });
      if (!outcome.done) fail(outcome.message);
      const shown = outcome.done ? (outcome.job ?? (await getJob(database.db, id))) : null;
      const said =
        command === "cancel"
          ? `job ${id} cancelled`
          : command === "retry" && shown
            ? `job ${shown.id} created (retry of ${id}); the dispatcher picks it up`
            : outcome.message;
      out(values.json ? JSON.stringify({ job: shown, message: outcome.message }) : said);
      break;
    }
    case "migrate":
      await migrate(database);
      out(values.json ? JSON.stringify({ migrated: true }) : "migrations applied");
      break;
    case "sweep": {
      const jobTypes = loadJobTypes(env.LABELRUN_CONFIG, { defaultTimeoutMinutes: env.DEFAULT_TIMEOUT_MINUTES });
      const gh = oneShotServices(jobTypes);
      if (!gh) fail("the sweeps need the GitHub App's credentials (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET)");
      const reports = await runSweeps(sweepDepsFrom(env, log, database, gh as NonNullable<typeof gh>));
      // The comments a dispatch queued are written before the CLI exits.
      await gh?.idle();
      out(
        values.json
          ? JSON.stringify({ sweeps: reports })
          : table(
              ["SWEEP", "MOVED", "MS", "ERROR"],
              reports.map((r) => [r.name, String(r.moved), r.ms.toFixed(1), r.error ?? ""]),
            ),
      );
      break;
    }
    case "doctor": {
      const findings = await doctor({ env, log, db: database.db });
      out(
        values.json
          ? JSON.stringify({ findings })
          : findings.map((f) => `${f.ok ? "ok " : "FIX"} ${f.check}: ${f.say}`).join("\n"),
      );
      if (findings.some((f) => !f.ok)) {
        await database.close();
        process.exit(1);
      }
      break;
    }
    case "receive": {
      if (!values.event || !/^[a-z_]{1,50}$/.test(values.event)) fail("receive needs --event <name> (e.g. issues)", 2);
      if (!values.payload) fail("receive needs --payload <file.json> (a delivery's body)", 2);
      let payload: unknown;
      try {
        payload = JSON.parse(readFileSync(values.payload as string, "utf8"));
      } catch (error) {
        fail(`cannot read ${values.payload}: ${coerceError(error).message.split("\n")[0]}`, 2);
      }
      if (typeof payload !== "object" || payload === null || Array.isArray(payload))
        fail(`${values.payload} is not a JSON object`, 2);
      const jobTypes = loadJobTypes(env.LABELRUN_CONFIG, { defaultTimeoutMinutes: env.DEFAULT_TIMEOUT_MINUTES });
      const gh = oneShotServices(jobTypes);
      if (!gh) fail("receive needs the GitHub App's credentials (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET)");
      const { github, services, permissions } = gh as NonNullable<typeof gh>;
      const after = new AfterResponseTasks(log);
      const deps = buildIntakeDeps({
        db: database.db,
        github,
        jobTypes,
        clock: systemClock,
        log,
        after,
        writerId: defaultWorkerId(env),
        services,
        permissions,
      });
      const deliveryId = values.id ?? `labelrun-receive-${randomUUID()}`;
      await createIntake(deps)({
        id: deliveryId,
        name: String(values.event),
        payload: payload as Record<string, unknown>,
      });
      // What the delivery set off (dispatch, comment) finishes before the CLI exits.
      await after.idle();
      await gh?.idle();
      const target = payload as {
        repository?: { id?: unknown };
        issue?: { number?: unknown };
        pull_request?: { number?: unknown };
      };
      const number = Number(target.issue?.number ?? target.pull_request?.number);
      const repositoryId = Number(target.repository?.id);
      const jobs =
        Number.isSafeInteger(number) && Number.isSafeInteger(repositoryId)
          ? await findJobsForTarget(database.db, { repositoryId, targetNumber: number })
          : [];
      out(
        values.json
          ? JSON.stringify({ deliveryId, jobs })
          : `delivered ${values.event} (${deliveryId})${jobs.length ? `\n\n${jobsTable(jobs)}` : ": no job on its target"}`,
      );
      break;
    }
    default:
      fail(`unknown command ${command}\n\n${USAGE}`, 2);
  }
} catch (error) {
  await database.close();
  if (error instanceof BadRequestError) fail(error.message, 2);
  const cause = (error as { cause?: { code?: string } }).cause;
  // 42P01 undefined_table: a database labelrun never migrated.
  if (cause?.code === "42P01") fail("this database has no labelrun tables yet: run `labelrun migrate` first");
  // The database's own words (not the query labelrun sent, which drizzle puts in its message).
  fail(
    cause
      ? `the database refused it: ${coerceError(cause).message}`
      : (coerceError(error).message.split("\n")[0] ?? "failed"),
  );
}
await database.close();
