import type { Logger } from "pino";
import type { Probot } from "probot";
import { systemClock } from "../clock.js";
import type { Env } from "../config/env.js";
import type { JobTypes } from "../config/job-types.js";
import type { Database, DatabaseHandle } from "../db/client.js";
import { type CommandRow, PermissionCache, runCommand as runCommandNow } from "../github/commands/run-command.js";
import { octokitDeliveriesPort } from "../github/deliveries-port.js";
import { AfterResponseTasks } from "../github/intake/after-response.js";
import { buildJobServices, type ChangedJob, type JobServices } from "../github/job-services.js";
import { octokitPort } from "../github/octokit-port.js";
import type { DeliveriesPort, GitHubPort, WorkerGitHubPort } from "../github/port.js";
import { makeProbot } from "./make-probot.js";

export interface GitHubServices {
  probot: Probot;
  github: GitHubPort & WorkerGitHubPort;
  deliveries: DeliveriesPort | null;
  services: JobServices;
  /** Collaborator permissions, remembered for a minute: one cache for the intake and the commands. */
  permissions: PermissionCache;
  runCommand(row: CommandRow): Promise<unknown>;
  /**
   * Hands what a job's change should show on GitHub (its reactions and comment) to the comment
   * queue, for a caller that must not wait on GitHub's pace (the maintenance's job sweeps).
   */
  followChange(job: ChangedJob): void;
  /** Waits for the comment writes dispatches left queued (graceful shutdown). */
  idle(): Promise<void>;
}

/** What every process entry point hands the parts it starts (web, worker). */
export interface ProcessParts {
  env: Env;
  log: Logger;
  database: DatabaseHandle;
  jobTypes: JobTypes;
  workerId: string;
  gh: GitHubServices | null;
}

/**
 * The composition root of everything GitHub-facing: this process's Probot
 * and what hangs off it, built once and shared by the intake, the worker and
 * the maintenance loop. Returns null in setup mode (no App credentials).
 */
export function buildGitHubServices(params: {
  env: Env;
  log: Logger;
  db: Database;
  jobTypes: JobTypes;
  writerId: string;
}): GitHubServices | null {
  const { env, log } = params;
  if (!env.github) return null;
  const probot = makeProbot(env.github, log);
  const github = octokitPort((id) => (id === undefined ? probot.auth() : probot.auth(id)));
  // Comment writes wait on GitHub's pacing; a dispatch hands them to their own queue and never waits.
  const comments = new AfterResponseTasks(log, 2);
  const services = buildJobServices({
    db: params.db,
    github,
    jobTypes: params.jobTypes,
    clock: systemClock,
    log,
    writerId: params.writerId,
    publicUrl: env.PUBLIC_URL,
    githubHost: env.GHE_HOST ?? "github.com",
    commentQueue: comments,
    installationLimit: env.INSTALLATION_CONCURRENCY,
    firstCommentDelayMs: env.FIRST_COMMENT_DELAY_SECONDS * 1000,
  });
  const deliveries = env.REDELIVER_FAILED_DELIVERIES ? octokitDeliveriesPort(() => probot.auth()) : null;
  const permissions = new PermissionCache(github, systemClock);
  const runCommand = (row: CommandRow) =>
    runCommandNow(
      { db: params.db, github, clock: systemClock, log, services, permissions, jobTypes: params.jobTypes },
      row,
    );
  const followChange = (job: ChangedJob) => comments.run("status comment", () => services.onJobChanged(job));
  return { probot, github, deliveries, services, permissions, runCommand, followChange, idle: () => comments.idle() };
}
