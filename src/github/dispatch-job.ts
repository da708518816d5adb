import { sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { JobTypes } from "../config/job-types.js";
import type { RepoConfig } from "../config/repo-config.js";
import type { Database } from "../db/client.js";
import { mapTableRow } from "../db/map-table-row.js";
import { columnOf, PrebuiltStatement, placeholder } from "../db/prebuilt-statement.js";
import { type InstallationRow, installations, type JobRow, jobs, repositoryConfigs } from "../db/schema.js";
import { amendJob } from "../jobs/amend-job.js";
import { countJobEvents } from "../jobs/find-jobs.js";
import { placeHold, postponeDeferred } from "../jobs/holds.js";
import { quotaReached } from "../jobs/quota.js";
import { settleDispatchTrouble, settleRateLimitedWait } from "../jobs/settle-policy.js";
import type { FailureCode, JobState } from "../jobs/states.js";
import { type TransitionResult, transitionJob } from "../jobs/transition-job.js";
import { classifyGitHubError } from "./classify-error.js";
import { type GitHubPort, type RepoRef, splitFullName, WRITE_PERMISSIONS } from "./port.js";
import { currentRepositoryConfig, type StoredRepositoryConfig } from "./repository-config-store.js";

export interface DispatchDeps {
  db: Database;
  github: GitHubPort;
  jobTypes: JobTypes;
  clock: Clock;
  log: Logger;
}

export type DispatchOutcome = JobState | "skipped";

const ACTOR = "dispatcher";
/** How long after the webhook showed the target open dispatch believes it without reading it. */
const FRESH_TARGET_MS = 60_000;

/**
 * Moves a freshly recorded job on: reads and validates the repository's
 * config, checks the issue/PR is still open, and queues the job — or fails
 * it (`VALIDATION_ERROR`), cancels it (closed, turned off, no longer a
 * trigger), defers it (GitHub rate limit) or abandons it (access revoked).
 *
 * Takes `pending` jobs, and `deferred` jobs that were never queued (their
 * dispatch met a rate limit). A deferred job cannot fail in the lifecycle,
 * so an invalid config found then cancels it with the same code and message.
 */
export async function dispatchJob(deps: DispatchDeps, jobId: number): Promise<DispatchOutcome> {
  return (await dispatchJobAndTell(deps, jobId)).outcome;
}

/**
 * dispatchJob, also answering with the job as dispatch read it (its target for the follow-up),
 * when found, and as its move returned it, when dispatch moved it (for the follow-up's reactions
 * and comment: see JobServices.onJobChanged).
 */
export async function dispatchJobAndTell(
  deps: DispatchDeps,
  jobId: number,
): Promise<{ outcome: DispatchOutcome; job: JobRow | null; moved?: JobRow }> {
  const read = await readForDispatch(deps.db, jobId);
  if (!read) return { outcome: "skipped", job: null };
  const seen: { moved?: JobRow } = {};
  const outcome = await dispatchRead(deps, read, seen);
  return { outcome, job: read.job, moved: seen.moved };
}

async function dispatchRead(
  deps: DispatchDeps,
  { job, installation, storedConfig }: DispatchReads,
  seen: { moved?: JobRow },
): Promise<DispatchOutcome> {
  const jobId = job.id;
  if (job.hold || !(job.status === "pending" || (job.status === "deferred" && job.queuedAt === null))) {
    return "skipped";
  }
  // While suspended nothing is dispatched; the sweep looks again after unsuspend.
  if (!installation || installation.suspendedAt || installation.deletedAt) return "skipped";
  const log = deps.log.child({ jobId, deliveryId: job.deliveryId });
  const { owner, repo } = splitFullName(job.repositoryFullName);
  const ref = { installationId: job.installationId, owner, repo };
  const move = (to: JobState, code: FailureCode | null = null, message: string | null = null, runAfter?: Date) =>
    transitionJob(deps.db, {
      jobId,
      from: job.status,
      to,
      at: deps.clock.now(),
      actor: ACTOR,
      code,
      message,
      patch: runAfter ? { runAfter } : undefined,
    }).then((result) => {
      if (result.ok) seen.moved = result.job;
      return report(result, log);
    });

  try {
    const config = await currentRepositoryConfig(
      deps,
      { ...ref, repositoryId: job.repositoryId, repositoryFullName: job.repositoryFullName },
      deps.clock.now(),
      storedConfig,
    );
    if (!config.ok) {
      const message = config.problems.join("\n");
      return move(job.status === "pending" ? "failed" : "cancelled", "VALIDATION_ERROR", message);
    }
    if (!config.config.enabled) {
      return move(
        "cancelled",
        "CANCELLED",
        "labelrun is turned off for this repository (`enabled: false` in .github/labelrun.yml)",
      );
    }
    if (job.triggerLabel && config.config.triggers[job.triggerLabel] !== job.jobType) {
      return move(
        "cancelled",
        "CANCELLED",
        `the label \`${job.triggerLabel}\` no longer triggers \`${job.jobType}\` in .github/labelrun.yml`,
      );
    }
    if (!deps.jobTypes.byName.has(job.jobType)) {
      return move(
        job.status === "pending" ? "failed" : "cancelled",
        "VALIDATION_ERROR",
        `the job type \`${job.jobType}\` is not configured on this server`,
      );
    }
    // The webhook showed the issue open moments ago: a `closed` event since then cancels the job anyway,
    // so the read is skipped (one rate-limited request less per job). An old or redelivered event is read again.
    const seenOpen =
      job.targetOpenAt !== null &&
      Math.abs(deps.clock.now().getTime() - job.targetOpenAt.getTime()) <= FRESH_TARGET_MS &&
      !config.config.requireApprovalForOutsiders;
    const target = seenOpen
      ? { state: "open" as const, author: null }
      : await deps.github.getTarget({ ...ref, number: job.targetNumber });
    if (target.state === "closed") {
      return move(
        "cancelled",
        "CANCELLED",
        `the ${job.targetKind === "pull_request" ? "pull request" : "issue"} was closed before the job started`,
      );
    }
    if (!job.approvedBy && (await needsApproval(deps, job, config.config, ref, target.author))) {
      // Waits, held, until someone with write access comments /labelrun approve.
      const held = await placeHold(deps.db, {
        job,
        hold: "awaiting_approval",
        actor: ACTOR,
        at: deps.clock.now(),
        message: "waits for approval: someone with write access comments /labelrun approve",
      });
      return held.ok ? held.job.status : "skipped";
    }
    if (!job.quotaWaivedBy && deps.jobTypes.quotas) {
      const reached = await quotaReached(
        deps.db,
        deps.jobTypes.quotas,
        job,
        installation.accountLogin,
        deps.clock.now(),
      );
      if (reached) {
        // Waits, held, until the month turns or the quota is raised (the quotas sweep), or an admin approves it.
        const held = await placeHold(deps.db, {
          job,
          hold: "quota_reached",
          actor: ACTOR,
          at: deps.clock.now(),
          message: `quota reached: ${reached.reason}`,
          reason: reached.reason,
        });
        return held.ok ? held.job.status : "skipped";
      }
    }
    if (config.config.dryRun) {
      const jobType = deps.jobTypes.byName.get(job.jobType);
      return move(
        "cancelled",
        "DRY_RUN",
        `dry run (\`dry_run: true\` in .github/labelrun.yml): the job type \`${job.jobType}\`${jobType?.description ? ` (${jobType.description})` : ""} would run now; no agent started`,
      );
    }
    return move("queued");
  } catch (error) {
    const kind = classifyGitHubError(error, deps.clock.now());
    switch (kind.kind) {
      case "rate_limited": {
        const settled = settleRateLimitedWait(kind.message, kind.retryAt);
        const runAfter = settled.patch.runAfter ?? kind.retryAt;
        if (job.status === "deferred") {
          // Still limited: it stays deferred until the new reset time.
          const moved = await postponeDeferred(deps.db, {
            job,
            runAfter,
            code: "RATE_LIMITED",
            message: settled.message ?? kind.message,
            actor: ACTOR,
            at: deps.clock.now(),
          });
          return moved ? "deferred" : "skipped";
        }
        return move("deferred", settled.code, settled.message, runAfter);
      }
      case "revoked":
        return move(
          "abandoned",
          "ACCESS_REVOKED",
          `labelrun lost access to ${job.repositoryFullName}: ${kind.message}`,
        );
      case "permanent":
        return move(job.status === "pending" ? "failed" : "abandoned", "API_ERROR", kind.message);
      case "transient": {
        // Recorded on the timeline; left waiting for the sweep's next try — a bounded number of times.
        await amendJob(deps.db, {
          jobId,
          status: job.status,
          set: {},
          at: deps.clock.now(),
          actor: ACTOR,
          code: "DISPATCH_FAILED",
          message: kind.message,
        });
        const settled = settleDispatchTrouble(await countJobEvents(deps.db, jobId, "DISPATCH_FAILED"), kind.message);
        if (!settled) {
          log.warn({ err: error }, "dispatch met a transient error; the sweep will retry");
          return "skipped";
        }
        return move(job.status === "pending" ? "failed" : "cancelled", settled.code, settled.message);
      }
    }
  }
}

async function needsApproval(
  deps: DispatchDeps,
  job: { jobType: string },
  config: RepoConfig,
  ref: RepoRef,
  author: string | null,
): Promise<boolean> {
  if (deps.jobTypes.byName.get(job.jobType)?.require_approval) return true;
  if (!config.requireApprovalForOutsiders) return false;
  if (!author) return true;
  return !WRITE_PERMISSIONS.has(await deps.github.getPermission(ref, author));
}

/** What dispatch decides on: the job, its installation and its repository's stored config. */
interface DispatchReads {
  job: JobRow;
  installation: Pick<InstallationRow, "accountLogin" | "suspendedAt" | "deletedAt"> | null;
  storedConfig: StoredRepositoryConfig | null;
}

/** Dispatch's three reads in one statement (each was a statement of its own: three round trips per job). */
const dispatchReads = new PrebuiltStatement(
  () => sql`
    select j.*,
      i.id as installation_found_, i.account_login as installation_account_login_,
      i.suspended_at as installation_suspended_at_, i.deleted_at as installation_deleted_at_,
      rc.repository_id as config_found_, rc.fetched_at as config_fetched_at_,
      rc.problems as config_problems_, rc.config as config_config_
    from jobs j
    left join installations i on i.id = j.installation_id
    left join repository_configs rc on rc.repository_id = j.repository_id
    where j.id = ${placeholder("jobId")}`,
);

async function readForDispatch(db: Database, jobId: number): Promise<DispatchReads | undefined> {
  const [row] = await dispatchReads.rows(db, { jobId });
  if (!row) return undefined;
  const value = <T>(table: PgTable, key: string, raw: unknown): T | null =>
    raw === null || raw === undefined ? null : (columnOf(table, key).mapFromDriverValue(raw) as T);
  const found = (raw: unknown) => raw !== null && raw !== undefined;
  return {
    job: mapTableRow(jobs, row),
    installation: found(row.installation_found_)
      ? {
          accountLogin: value<string>(installations, "accountLogin", row.installation_account_login_) ?? "",
          suspendedAt: value<Date>(installations, "suspendedAt", row.installation_suspended_at_),
          deletedAt: value<Date>(installations, "deletedAt", row.installation_deleted_at_),
        }
      : null,
    storedConfig: found(row.config_found_)
      ? {
          fetchedAt: value<Date>(repositoryConfigs, "fetchedAt", row.config_fetched_at_) ?? new Date(0),
          problems: value<string[]>(repositoryConfigs, "problems", row.config_problems_),
          config: value<RepoConfig>(repositoryConfigs, "config", row.config_config_),
        }
      : null,
  };
}

function report(result: TransitionResult, log: Logger): DispatchOutcome {
  if (result.ok) {
    log.info({ status: result.job.status, code: result.job.failureCode }, "job dispatched");
    return result.job.status;
  }
  // Someone moved it meanwhile (label removed, issue closed): their change stands.
  log.info({ status: result.job?.status }, "job changed while it was dispatched");
  return "skipped";
}
