import { execFile } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import type { Env } from "../config/env.js";
import { type JobTypes, JobTypesFileError, loadJobTypes } from "../config/job-types.js";
import type { Database } from "../db/client.js";
import { appliedMigrationCount, countMigrations } from "../db/migrate.js";
import { coerceError } from "../errors.js";
import { hostSystemEntries } from "../worker/sandbox/host-system.js";
import { agentHostUser, probeSandbox } from "../worker/sandbox/probe-sandbox.js";
import { makeProbot } from "./make-probot.js";
import { describeReadiness } from "./start-worker.js";

export interface Finding {
  check: string;
  ok: boolean;
  /** What is fine, or the one line that says how to fix it. */
  say: string;
}

const run = promisify(execFile);

/**
 * `labelrun doctor`: what an operator gets wrong, checked for real — the
 * App's credentials (`GET /app`), the webhook secret, the database and its
 * migrations, git, the job-types file, each job type's command, the sandbox
 * — each problem one line that says how to fix it.
 */
export async function doctor(params: { env: Env; log: Logger; db: Database }): Promise<Finding[]> {
  const { env } = params;
  const findings: Finding[] = [];
  const add = (check: string, ok: boolean, say: string) => findings.push({ check, ok, say });

  // The database (it answered already: the CLI opened it) and its migrations.
  try {
    const applied = await appliedMigrationCount(params.db);
    const expected = countMigrations();
    add(
      "database",
      applied >= expected,
      applied >= expected
        ? `${applied} migrations applied`
        : `${applied} of ${expected} migrations applied: run \`labelrun migrate\` (or the release process)`,
    );
  } catch (error) {
    add(
      "database",
      false,
      `cannot read the migrations: ${coerceError(error).message.split("\n")[0]}; run \`labelrun migrate\``,
    );
  }

  // The App.
  if (!env.github) {
    add(
      "github app",
      false,
      `missing ${env.githubMissing.join(", ")}: register the App (npm start, then open it) and set them in .env`,
    );
  } else {
    try {
      const octokit = await makeProbot(env.github, params.log).auth();
      // One try: a doctor answers at once; the retry plugin would wait 14 s on an unreachable host.
      const { data } = await octokit.request("GET /app", { request: { retries: 0 } });
      const app = data as { slug?: string; name?: string } | null;
      add("github app", true, `authenticated as ${app?.slug ?? app?.name ?? "the App"} at ${env.github.baseUrl}`);
    } catch (error) {
      const status = (error as { status?: number }).status;
      add(
        "github app",
        false,
        status === 401 || status === 404
          ? `GitHub refused the App's credentials (${status}): check APP_ID and that PRIVATE_KEY is that App's key`
          : `cannot reach GitHub at ${env.github.baseUrl}: ${coerceError(error).message.split("\n")[0]} (GITHUB_API_URL, GHE_HOST, the network)`,
      );
    }
    const secret = env.github.webhookSecret;
    add(
      "webhook secret",
      secret.length >= 20,
      secret.length >= 20
        ? `${secret.length} characters`
        : `only ${secret.length} characters: use a random one (\`openssl rand -hex 32\`) and set it on the App too`,
    );
  }

  // git, for clones.
  try {
    const { stdout } = await run("git", ["--version"]);
    add("git", true, stdout.trim());
  } catch {
    add("git", false, "git is not on PATH: install it (`apt install git`); workers clone with it");
  }

  // The job types and their commands.
  let jobTypes: JobTypes | null = null;
  try {
    jobTypes = loadJobTypes(env.LABELRUN_CONFIG, { defaultTimeoutMinutes: env.DEFAULT_TIMEOUT_MINUTES });
    add("job types", true, `${jobTypes.byName.size} in ${env.LABELRUN_CONFIG}`);
  } catch (error) {
    const problems = error instanceof JobTypesFileError ? error.problems : [coerceError(error).message];
    for (const problem of problems) add("job types", false, problem);
  }
  for (const type of jobTypes?.byName.values() ?? []) {
    const program = type.command[0] ?? "";
    const found = executable(program);
    add(
      `command of ${type.name}`,
      found !== null,
      found ??
        `\`${program}\` is not an executable file here or on PATH: fix \`command\` of \`${type.name}\` in ${env.LABELRUN_CONFIG}`,
    );
  }

  // The sandbox, as a worker on this machine would find it.
  if (jobTypes) {
    const workerDir = mkdtempSync(join(env.WORKSPACE_ROOT ?? tmpdir(), "labelrun-doctor-"));
    try {
      const hostUser = agentHostUser({ uid: env.SANDBOX_UID, gid: env.SANDBOX_GID });
      const support = await probeSandbox({ workerDir, hostUser, system: hostSystemEntries() });
      const readiness = describeReadiness(jobTypes, support, hostUser?.uid ?? null);
      for (const [name, why] of Object.entries(readiness.refuses)) add(`sandbox for ${name}`, false, why);
      if (readiness.runs.length) add("sandbox", true, `a worker here runs: ${readiness.runs.join(", ")}`);
    } finally {
      rmSync(workerDir, { recursive: true, force: true });
    }
  }
  return findings;
}

/** Where `program` is as an executable file (a path, or a name on PATH), or null. */
function executable(program: string): string | null {
  const candidates =
    program.includes("/") || isAbsolute(program)
      ? [program]
      : (process.env.PATH ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}
