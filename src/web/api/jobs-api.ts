import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../../clock.js";
import type { Quotas } from "../../config/job-types.js";
import type { Database } from "../../db/client.js";
import type { JobRow } from "../../db/schema.js";
import type { PermissionCache } from "../../github/commands/run-command.js";
import type { AfterResponse } from "../../github/intake/intake-deps.js";
import type { JobServices } from "../../github/job-services.js";
import { getJob, listJobEvents, listJobLogs } from "../../jobs/find-jobs.js";
import { actOnJob, type JobAction } from "../../jobs/job-actions.js";
import { listJobs } from "../../jobs/list-jobs.js";
import { queuedReasons, type RunningLimits } from "../../jobs/queued-reason.js";
import { quotasFor, usageThisMonth } from "../../jobs/quota.js";
import { type ReviewState, reviewStateOf } from "../../jobs/review-state.js";
import { waitingReason } from "../../jobs/waiting-reason.js";
import { type Access, type AdminAuth, denied } from "../auth.js";
import { sendJson } from "../http-server.js";
import type { JobStream } from "../job-stream.js";
import { type RouteHandler, router } from "../router.js";
import { BadRequestError, parseJobFilters } from "./job-filters.js";

export interface AdminDeps {
  db: Database;
  clock: Clock;
  auth: AdminAuth;
  stream: JobStream;
  /** Follow-ups of an admin's change (comment, dispatch of a retry); null in setup mode. */
  services: JobServices | null;
  after: AfterResponse;
  /** Job types whose agents run without a sandbox (`sandbox: none`): their job pages say so. */
  unsandboxed?: ReadonlySet<string>;
  /** GitHub's web host (github.com, or GHE_HOST): a job's result is a link only into its repository there. */
  githubHost?: string;
  /** Collaborator permissions (the comment commands' cache): a person signed in with GitHub acts only where they may write. */
  permissions?: Pick<PermissionCache, "canWrite"> | null;
  /** The operator's monthly quotas, shown beside this month's usage. */
  quotas?: Quotas;
  /** The running limits, for saying why a queued job waits. */
  limits?: RunningLimits;
}

/** A job as the API shows it: with `reviewState` (awaiting_review, merged, closed, or null) beside its state. */
export function withReviewState(job: JobRow): JobRow & { reviewState: ReviewState | null } {
  return { ...job, reviewState: reviewStateOf(job) };
}

/** Why each job waits, in words (null: it does not): from the database, as the comment and board say it. */
async function waitingReasons(deps: AdminDeps, jobs: readonly JobRow[]): Promise<Map<number, string>> {
  const queued = deps.limits ? await queuedReasons(deps.db, jobs, deps.limits, deps.clock.now()) : new Map();
  const reasons = new Map<number, string>();
  for (const job of jobs) {
    const reason = queued.get(job.id) ?? waitingReason(job, (text) => text);
    if (reason) reasons.set(job.id, reason);
  }
  return reasons;
}

/** The installations whose jobs this access may see (undefined: all, for the admin). */
export function visibleTo(access: Access & { ok: true }): readonly number[] | undefined {
  return access.person?.installationIds;
}

/** A job this access may see, else undefined (a job of another installation is "not found", not "forbidden"). */
export async function visibleJob(db: Database, access: Access & { ok: true }, id: number): Promise<JobRow | undefined> {
  const job = await getJob(db, id);
  const scope = visibleTo(access);
  return job && (!scope || scope.includes(job.installationId)) ? job : undefined;
}

/**
 * Why this access may not act on the job, or null when it may: the admin may; a person needs
 * write access to the job's repository (asked of GitHub with the installation's token, cached
 * a minute, as for comment commands).
 */
export async function refusalToAct(
  deps: AdminDeps,
  access: Access & { ok: true },
  job: JobRow,
): Promise<string | null> {
  if (!access.person) return null;
  const [owner, repo] = job.repositoryFullName.split("/");
  if (!deps.permissions || !owner || !repo) return "actions by people need the GitHub App to be configured";
  const writes = await deps.permissions
    .canWrite({ installationId: job.installationId, owner, repo }, access.person.login)
    .catch(() => null);
  if (writes === null) return "GitHub could not confirm your permission on the repository; try again";
  return writes ? null : `@${access.person.login} needs write access to ${job.repositoryFullName} to do that`;
}

const error = (res: ServerResponse, status: number, code: string, message: string) =>
  sendJson(res, status, { error: { code, message } });

/** Wraps a handler with authentication (and CSRF for writes) and turns bad input into 400. */
export function guarded(
  deps: AdminDeps,
  write: boolean,
  handler: (access: Access & { ok: true }) => RouteHandler,
): RouteHandler {
  return async (req, res, params, url) => {
    const access = await deps.auth.check(req);
    if (!access.ok) return denied(res, access, false);
    if (write && !deps.auth.csrfOk(req, access)) {
      return error(
        res,
        403,
        "csrf",
        "this request did not come from labelrun's own page (missing or wrong x-csrf-token)",
      );
    }
    try {
      await handler(access)(req, res, params, url);
    } catch (caught) {
      if (caught instanceof BadRequestError) return error(res, 400, "bad_request", caught.message);
      throw caught;
    }
  };
}

function jobId(params: Record<string, string>): number {
  const id = params.id ?? "";
  if (!/^\d{1,15}$/.test(id)) throw new BadRequestError(`\`${id}\` is not a job id`);
  return Number(id);
}

/** After an admin's change: the job's comment (and a retry's dispatch) follow, after the response. */
/** `GET/POST /api/…`: jobs with filters and keyset pages, one job, its events and logs, cancel, retry, the stream. */
export function jobsApi(deps: AdminDeps) {
  return router([
    [
      "GET",
      "/api/jobs",
      guarded(deps, false, (access) => async (_req, res, _params, url) => {
        const page = await listJobs(deps.db, {
          ...parseJobFilters(url.searchParams),
          visibleInstallations: visibleTo(access),
        });
        const reasons = await waitingReasons(deps, page.jobs);
        sendJson(res, 200, {
          ...page,
          jobs: page.jobs.map((job) => ({ ...withReviewState(job), waitingReason: reasons.get(job.id) ?? null })),
        });
      }),
    ],
    [
      "GET",
      "/api/jobs/:id",
      guarded(deps, false, (access) => async (_req, res, params) => {
        const job = await visibleJob(deps.db, access, jobId(params));
        if (!job) return error(res, 404, "not_found", `no job ${params.id}`);
        const reasons = await waitingReasons(deps, [job]);
        sendJson(res, 200, { job: { ...withReviewState(job), waitingReason: reasons.get(job.id) ?? null } });
      }),
    ],
    [
      "GET",
      "/api/jobs/:id/events",
      guarded(deps, false, (access) => async (_req, res, params) => {
        const id = jobId(params);
        if (!(await visibleJob(deps.db, access, id))) return error(res, 404, "not_found", `no job ${id}`);
        sendJson(res, 200, { events: await listJobEvents(deps.db, id) });
      }),
    ],
    [
      "GET",
      "/api/jobs/:id/logs",
      guarded(deps, false, (access) => async (_req, res, params, url) => {
        const id = jobId(params);
        if (!(await visibleJob(deps.db, access, id))) return error(res, 404, "not_found", `no job ${id}`);
        const after = url.searchParams.get("after");
        if (after !== null && !/^\d{1,15}$/.test(after)) throw new BadRequestError("`after` must be a log line id");
        sendJson(res, 200, { logs: await listJobLogs(deps.db, id, Number(after ?? 0)) });
      }),
    ],
    [
      "POST",
      "/api/jobs/:id/:action(cancel|retry|pause|resume|interrupt|approve|reject)",
      guarded(deps, true, (access) => async (_req, res, params) => {
        const id = jobId(params);
        const job = await visibleJob(deps.db, access, id);
        if (!job) return error(res, 404, "not_found", `no job ${id}`);
        const refused = await refusalToAct(deps, access, job);
        if (refused) return error(res, 403, "forbidden", refused);
        const action = params.action as JobAction;
        const outcome = await actOnJob(deps.db, deps.clock, job, action, {
          actor: access.actor,
          by: access.actor,
          approver: access.actor,
        });
        if (!outcome.done) return error(res, 409, "conflict", outcome.message);
        const services = deps.services;
        if (services) {
          deps.after.run(action, async () => {
            for (const dispatchId of outcome.dispatch) await services.dispatch(dispatchId);
            for (const changed of outcome.changed) await services.onJobChanged(changed);
          });
        }
        const current = outcome.job ?? (await getJob(deps.db, id)) ?? job;
        sendJson(res, action === "retry" ? 201 : 200, { job: current, message: outcome.message });
      }),
    ],
    [
      "GET",
      "/api/usage",
      guarded(deps, false, (access) => async (_req, res) => {
        const usage = await usageThisMonth(deps.db, deps.clock.now(), visibleTo(access));
        sendJson(res, 200, {
          ...usage,
          installations: usage.installations.map((i) => ({
            ...i,
            quota: quotasFor(deps.quotas, { installationId: i.installationId, repositoryFullName: "" }, i.accountLogin)
              .installation,
          })),
          repositories: usage.repositories.map((r) => ({
            ...r,
            quota: deps.quotas?.repositories[r.repository] ?? null,
          })),
        });
      }),
    ],
    [
      "GET",
      "/api/stream",
      guarded(deps, false, (access) => (_req: IncomingMessage, res: ServerResponse) => {
        const scope = visibleTo(access);
        deps.stream.attach(res, scope ? (notice) => scope.includes(notice.installationId) : undefined);
      }),
    ],
  ]);
}
