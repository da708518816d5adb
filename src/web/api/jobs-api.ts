import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import type { AfterResponse } from "../../github/intake/intake-deps.js";
import type { JobServices } from "../../github/job-services.js";
import { getJob, listJobEvents, listJobLogs } from "../../jobs/find-jobs.js";
import { actOnJob, type JobAction } from "../../jobs/job-actions.js";
import { listJobs } from "../../jobs/list-jobs.js";
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
      guarded(deps, false, () => async (_req, res, _params, url) => {
        const page = await listJobs(deps.db, parseJobFilters(url.searchParams));
        sendJson(res, 200, page);
      }),
    ],
    [
      "GET",
      "/api/jobs/:id",
      guarded(deps, false, () => async (_req, res, params) => {
        const job = await getJob(deps.db, jobId(params));
        if (!job) return error(res, 404, "not_found", `no job ${params.id}`);
        sendJson(res, 200, { job });
      }),
    ],
    [
      "GET",
      "/api/jobs/:id/events",
      guarded(deps, false, () => async (_req, res, params) => {
        const id = jobId(params);
        if (!(await getJob(deps.db, id))) return error(res, 404, "not_found", `no job ${id}`);
        sendJson(res, 200, { events: await listJobEvents(deps.db, id) });
      }),
    ],
    [
      "GET",
      "/api/jobs/:id/logs",
      guarded(deps, false, () => async (_req, res, params, url) => {
        const id = jobId(params);
        if (!(await getJob(deps.db, id))) return error(res, 404, "not_found", `no job ${id}`);
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
        const job = await getJob(deps.db, id);
        if (!job) return error(res, 404, "not_found", `no job ${id}`);
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
      "/api/stream",
      guarded(deps, false, () => (_req: IncomingMessage, res: ServerResponse) => {
        deps.stream.attach(res);
      }),
    ],
  ]);
}
