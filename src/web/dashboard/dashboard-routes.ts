import { listJobEvents, listJobLogs } from "../../jobs/find-jobs.js";
import { jobInsights } from "../../jobs/job-insights.js";
import { listJobs } from "../../jobs/list-jobs.js";
import { quotasFor, type Usage, usageThisMonth } from "../../jobs/quota.js";
import { liveWorkers } from "../../worker/presence-store.js";
import { BadRequestError, parseJobFilters } from "../api/job-filters.js";
import { type AdminDeps, visibleJob, visibleTo } from "../api/jobs-api.js";
import { type Access, denied, originHost } from "../auth.js";
import { sendJson } from "../http-server.js";
import { type RouteHandler, readBody, router } from "../router.js";
import { htmlSecurityHeaders } from "../security-headers.js";
import { BOARD_SCRIPT, boardFragment, filterForm } from "./board-page.js";
import { type Html, html } from "./html.js";
import { insightsBody, parseWindow } from "./insights-page.js";
import { jobCard } from "./job-card.js";
import { JOB_SCRIPT, jobPageBody } from "./job-page.js";
import { page } from "./layout.js";

/** A page handler: signed in (else to /login), bad filters shown as a 400 page. */
function pageGuard(deps: AdminDeps, handler: (access: Access & { ok: true }) => RouteHandler): RouteHandler {
  return async (req, res, params, url) => {
    const access = await deps.auth.check(req);
    if (!access.ok) return denied(res, access, true);
    try {
      await handler(access)(req, res, params, url);
    } catch (caught) {
      if (!(caught instanceof BadRequestError)) throw caught;
      page(res, {
        title: "Bad filter",
        csrf: access.csrf,
        status: 400,
        body: html`<p>${caught.message}</p><a href="/jobs">Back</a>`,
      });
    }
  };
}

/** The board (`/jobs`), the history (`/jobs/history`), a job (`/jobs/:id`), and signing in. */
export function dashboardRoutes(deps: AdminDeps) {
  /** The board's columns; answered directly (and undefined returned) for the live refresh's `fragment=1`. */
  const board = async (
    res: Parameters<RouteHandler>[1],
    url: URL,
    access: Access & { ok: true },
  ): Promise<Html | undefined> => {
    const filter = { ...parseJobFilters(url.searchParams), visibleInstallations: visibleTo(access) };
    const fragment = await boardFragment({ db: deps.db, clock: deps.clock, filter, limits: deps.limits });
    if (url.searchParams.get("fragment")) {
      res.writeHead(200, htmlSecurityHeaders());
      res.end(fragment.value);
      return undefined;
    }
    return fragment;
  };
  return router([
    // The pages' scripts, as files: the pages' CSP allows no inline script.
    ["GET", "/assets/board.js", script(BOARD_SCRIPT)],
    ["GET", "/assets/job.js", script(JOB_SCRIPT)],
    [
      "GET",
      "/jobs",
      pageGuard(deps, (access) => async (_req, res, _params, url) => {
        const fragment = await board(res, url, access);
        if (!fragment) return;
        const usage = await usageThisMonth(deps.db, deps.clock.now(), visibleTo(access));
        page(res, {
          title: "Board",
          csrf: access.csrf,
          who: access.person?.login,
          body: html`${filterForm(parseJobFilters(url.searchParams), "/jobs")}${usageLine(usage, deps.quotas)}<div id="board">${fragment}</div><script src="/assets/board.js" defer></script>`,
        });
      }),
    ],
    [
      "GET",
      "/jobs/history",
      pageGuard(deps, (access) => async (_req, res, _params, url) => {
        const filter = parseJobFilters(url.searchParams);
        const result = await listJobs(deps.db, {
          ...filter,
          limit: filter.limit ?? 50,
          visibleInstallations: visibleTo(access),
        });
        const next = new URLSearchParams(url.searchParams);
        if (result.nextCursor) next.set("before", String(result.nextCursor));
        const now = deps.clock.now();
        page(res, {
          title: "History",
          csrf: access.csrf,
          who: access.person?.login,
          body: html`${filterForm(filter, "/jobs/history")}
<div class="board" style="grid-template-columns:1fr">${result.jobs.map((job) => jobCard(job, now))}</div>
${result.nextCursor ? html`<p><a id="next-page" href="/jobs/history?${next.toString()}">Older jobs →</a></p>` : html`<p class="muted">No older jobs.</p>`}`,
        });
      }),
    ],
    [
      "GET",
      "/jobs/:id",
      pageGuard(deps, (access) => async (_req, res, params) => {
        const id = /^\d{1,15}$/.test(params.id ?? "") ? Number(params.id) : null;
        const job = id ? await visibleJob(deps.db, access, id) : undefined;
        const csrf = access.csrf;
        if (!job) {
          page(res, { title: "Not found", csrf, status: 404, body: html`<p>No job ${params.id ?? ""}.</p>` });
          return;
        }
        const [events, logs, online] = await Promise.all([
          listJobEvents(deps.db, job.id),
          listJobLogs(deps.db, job.id, 0, 5000),
          liveWorkers(deps.db, deps.clock.now()),
        ]);
        page(res, {
          title: `Job #${job.id}`,
          csrf,
          who: access.person?.login,
          body: jobPageBody(job, events, logs, {
            unsandboxed: deps.unsandboxed?.has(job.jobType) ?? false,
            online,
            githubHost: deps.githubHost,
          }),
        });
      }),
    ],
    ["GET", "/insights", insightsRoute(deps, false)],
    ["GET", "/insights/:owner/:repo", insightsRoute(deps, true)],
    [
      "GET",
      "/login",
      (_req, res) => {
        page(res, {
          title: "Sign in",
          csrf: "",
          body: html`${deps.auth.signInConfigured ? html`<p><a class="button" id="github-sign-in" href="/auth/github">Sign in with GitHub</a></p>` : ""}
${
  deps.auth.tokenConfigured
    ? html`<form method="post" action="/login" style="max-width:22rem"><p>Or enter the admin token (ADMIN_TOKEN).</p>
<input type="password" name="token" autocomplete="current-password" style="width:100%" autofocus><p><button type="submit">Sign in</button></p></form>`
    : html`<p>No ADMIN_TOKEN is configured: the dashboard answers on loopback only, without signing in.</p>`
}`,
        });
      },
    ],
    [
      "POST",
      "/logout",
      async (req, res) => {
        // Only our own page signs out (a cross-site form cannot end the admin's session).
        const origin = req.headers.origin;
        if (origin !== undefined && originHost(origin) !== req.headers.host)
          return sendJson(res, 403, { error: { code: "csrf", message: "cross-site sign-out refused" } });
        res.writeHead(303, { location: "/login", "set-cookie": await deps.auth.signOut(req) });
        res.end();
      },
    ],
    [
      "POST",
      "/login",
      async (req, res) => {
        const origin = req.headers.origin;
        if (origin !== undefined && originHost(origin) !== req.headers.host)
          return sendJson(res, 403, { error: { code: "csrf", message: "cross-site sign-in refused" } });
        const token = new URLSearchParams(await readBody(req, 4096)).get("token") ?? "";
        const result = await deps.auth.login(req, token);
        if (result.ok) {
          res.writeHead(303, { location: "/jobs", "set-cookie": result.cookie });
          res.end();
          return;
        }
        const message =
          result.status === 429
            ? "Too many failed attempts from this address: try again later."
            : "That token is not right.";
        page(res, {
          title: "Sign in",
          csrf: "",
          status: result.status,
          body: html`<p>${message}</p><a href="/login">Try again</a>`,
        });
      },
    ],
  ]);
}

/** How the fleet is doing (`/insights`), or one repository (`/insights/:owner/:repo`), over 7/30/90 days. */
function insightsRoute(deps: AdminDeps, oneRepository: boolean): RouteHandler {
  return pageGuard(deps, (access) => async (_req, res, params, url) => {
    const days = parseWindow(url.searchParams);
    const parsed = parseJobFilters(url.searchParams);
    const repository = oneRepository ? `${params.owner}/${params.repo}` : parsed.repositoryFullName;
    if (repository && !/^[\w.-]+\/[\w.-]+$/.test(repository)) throw new BadRequestError("not a repository name");
    const filter = {
      installationId: parsed.installationId,
      accountLogin: parsed.accountLogin,
      repositoryFullName: repository,
      jobType: parsed.jobType,
      visibleInstallations: visibleTo(access),
    };
    const insights = await jobInsights(deps.db, { until: deps.clock.now(), days, filter });
    const recent =
      oneRepository && repository
        ? (await listJobs(deps.db, { ...filter, limit: 12, duplicates: "exclude" })).jobs
        : [];
    const now = deps.clock.now();
    const body = insightsBody({
      insights,
      days,
      filter,
      path: oneRepository ? `/insights/${repository}` : "/insights",
      heading: oneRepository
        ? html`<h2>${repository ?? ""} <small class="muted"><a href="/insights?days=${String(days)}">all repositories</a></small></h2>`
        : undefined,
    });
    page(res, {
      title: oneRepository ? `Insights: ${repository}` : "Insights",
      csrf: access.csrf,
      who: access.person?.login,
      body: recent.length
        ? html`${body}<h3>Latest jobs</h3><div class="board" id="recent">${recent.map((job) => jobCard(job, now))}</div>`
        : body,
    });
  });
}

/** "This month: org-1 12 jobs of 500, $3.40 of $200 · …": what each installation spent against its quota. */
function usageLine(usage: Usage, quotas: AdminDeps["quotas"]) {
  if (!usage.installations.length) return html``;
  const parts = usage.installations.map((i) => {
    const quota = quotasFor(
      quotas,
      { installationId: i.installationId, repositoryFullName: "" },
      i.accountLogin,
    ).installation;
    const jobs = `${i.jobs} job${i.jobs === 1 ? "" : "s"}${quota?.jobs_per_month !== undefined ? ` of ${quota.jobs_per_month}` : ""}`;
    const cost = `$${i.costUsd.toFixed(2)}${quota?.cost_usd_per_month !== undefined ? ` of $${quota.cost_usd_per_month.toFixed(2)}` : ""}`;
    return html`<span data-installation="${String(i.installationId)}">${i.accountLogin ?? String(i.installationId)}: ${jobs}, ${cost}</span>`;
  });
  return html`<p class="muted" id="usage">This month (${usage.month}): ${parts.map((p, n) => html`${n ? " · " : ""}${p}`)}</p>`;
}

function script(source: string): RouteHandler {
  return (_req, res) => {
    res.writeHead(200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    res.end(source);
  };
}
