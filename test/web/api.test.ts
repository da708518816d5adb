import { request } from "node:http";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { jobs } from "../../src/db/schema.js";
import { getJob, listJobEvents } from "../../src/jobs/find-jobs.js";
import { transitionJob } from "../../src/jobs/transition-job.js";
import { AdminAuth } from "../../src/web/auth.js";
import { announceWorker } from "../../src/worker/presence-store.js";
import { openTestDatabase, type TestDatabase, testDrivers } from "../support/databases.js";
import { makeJob, seedInstallation } from "../support/factories.js";
import { httpRequest } from "../support/http.js";
import { ADMIN_TOKEN, startTestWeb } from "../support/web-harness.js";

const driver = testDrivers[0] ?? "pglite";
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** The sign-in slow-down, scaled down so a test sees it whole in a fraction of a second. */
const FAST_SLOW_DOWN = {
  freeFailures: 3,
  baseDelayMs: 20,
  maxDelayMs: 80,
  maxWaitMs: 150,
  forgetAfterMs: 60_000,
  maxKeys: 100,
};

describe(`the JSON API over HTTP (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { slowDown: FAST_SLOW_DOWN });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.reset();
    await seedInstallation(database.db, 1);
    await seedInstallation(database.db, 2);
  });
  const get = (path: string, headers: Record<string, string> = bearer) =>
    httpRequest(`${web.base}${path}`, { headers });
  const post = (path: string, headers: Record<string, string> = bearer) =>
    httpRequest(`${web.base}${path}`, { method: "POST", headers });
  const json = (body: string) => JSON.parse(body);

  it("refuses requests without the token (401) or with a wrong one (401), JSON errors with a code", async () => {
    expect(await get("/api/jobs", {})).toMatchObject({ status: 401 });
    const wrong = await get("/api/jobs", { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(json(wrong.body)).toEqual({ error: { code: "unauthorized", message: "the bearer token is wrong" } });
    expect((await get("/metrics", {})).status).toBe(401);
  });

  it("lists jobs newest first with filters and keyset pages", async () => {
    for (let i = 0; i < 7; i++)
      await makeJob(database.db, { installationId: 1 + (i % 2), jobType: i < 5 ? "implement" : "review" });
    const first = json((await get("/api/jobs?limit=3")).body);
    expect(first.jobs.map((j: { id: number }) => j.id)).toEqual([7, 6, 5]);
    const second = json((await get(`/api/jobs?limit=3&before=${first.nextCursor}`)).body);
    expect(second.jobs.map((j: { id: number }) => j.id)).toEqual([4, 3, 2]);
    const last = json((await get(`/api/jobs?limit=3&before=${second.nextCursor}`)).body);
    expect(last).toMatchObject({ nextCursor: null });
    expect(last.jobs.map((j: { id: number }) => j.id)).toEqual([1]);
    const filtered = json((await get("/api/jobs?installation=2&job_type=implement&status=pending")).body);
    expect(filtered.jobs.map((j: { id: number }) => j.id)).toEqual([4, 2]);
    // seedInstallation names installation 2's account org-2.
    const byAccount = json((await get("/api/jobs?account=org-2&job_type=implement")).body);
    expect(byAccount.jobs.map((j: { id: number }) => j.id)).toEqual([4, 2]);
    expect((await get("/api/jobs?account=bad%20login")).status).toBe(400);
  });

  it.each([
    ["/api/jobs?status=sleeping", /unknown status sleeping/],
    ["/api/jobs?limit=0", /`limit` must be a positive whole number/],
    ["/api/jobs?limit=9999", /at most 500/],
    ["/api/jobs?repository=not-a-repo", /owner\/name/],
    ["/api/jobs/abc", /is not a job id/],
  ])("GET %s is a 400 that says what is wrong", async (path, message) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    expect(json(response.body).error).toMatchObject({ code: "bad_request", message: expect.stringMatching(message) });
  });

  it("says which completed jobs await review of their pull request, in the API and in the board's own column", async () => {
    const open = await makeJob(database.db, { status: "completed", targetTitle: "Open PR job" });
    const merged = await makeJob(database.db, { status: "completed", targetTitle: "Merged PR job" });
    const elsewhere = await makeJob(database.db, { status: "completed", targetTitle: "Foreign PR job" });
    const reopened = await makeJob(database.db, { status: "completed", targetTitle: "Reopened PR job" });
    const set = (id: number, url: string, state: string | null) =>
      database.db.execute(sql`update jobs set result_url = ${url}, result_pr_state = ${state} where id = ${id}`);
    await set(open.id, "https://github.com/octo-org/widgets/pull/8", null);
    await set(merged.id, "https://github.com/octo-org/widgets/pull/9", "merged");
    await set(elsewhere.id, "https://github.com/other/widgets/pull/1", null);
    await set(reopened.id, "https://github.com/octo-org/widgets/pull/10", "open");
    const listed = json((await get("/api/jobs")).body).jobs as Array<{ id: number; reviewState: string | null }>;
    expect(Object.fromEntries(listed.map((job) => [job.id, job.reviewState]))).toEqual({
      [open.id]: "awaiting_review",
      [merged.id]: "merged",
      [elsewhere.id]: null,
      [reopened.id]: "awaiting_review",
    });
    expect(json((await get(`/api/jobs/${open.id}`)).body).job.reviewState).toBe("awaiting_review");
    const board = (await get("/jobs?fragment=1")).body;
    const column = (name: string) => board.split(`data-column="${name}"`)[1]?.split("</section>")[0] ?? "";
    expect(column("awaiting_review")).toContain("Open PR job");
    expect(column("awaiting_review")).toContain("Reopened PR job");
    expect(column("awaiting_review")).not.toContain("Merged PR job");
    expect(column("completed")).toContain("Merged PR job");
    expect(column("completed")).toContain("Foreign PR job");
    expect(column("completed")).not.toContain("Open PR job");
  });

  it("GET /api/usage: this month's jobs and cost per installation and repository", async () => {
    const queued = await makeJob(database.db, { installationId: 1, status: "completed" });
    await database.db.execute(
      sql`update jobs set queued_at = now(), finished_at = now(), cost_usd = 1.25 where id = ${queued.id}`,
    );
    const usage = json((await get("/api/usage")).body);
    expect(usage.month).toMatch(/^\d{4}-\d{2}$/);
    expect(usage.installations).toEqual([
      { installationId: 1, accountLogin: "org-1", jobs: 1, costUsd: 1.25, quota: null },
    ]);
    expect(usage.repositories).toEqual([
      { installationId: 1, repository: "octo-org/widgets", jobs: 1, costUsd: 1.25, quota: null },
    ]);
    expect((await get("/api/usage", {})).status).toBe(401);
  });

  it("answers 404 for unknown jobs, and serves a job, its events and its logs", async () => {
    expect((await get("/api/jobs/999")).status).toBe(404);
    expect((await get("/api/jobs/999/events")).status).toBe(404);
    const job = await makeJob(database.db, {});
    expect(json((await get(`/api/jobs/${job.id}`)).body).job).toMatchObject({ id: job.id, status: "pending" });
    expect(json((await get(`/api/jobs/${job.id}/events`)).body).events).toMatchObject([{ toStatus: "pending" }]);
    expect(json((await get(`/api/jobs/${job.id}/logs`)).body)).toEqual({ logs: [] });
  });

  it("cancels an active job as the admin (409 once it has ended), and retries a finished one like re-labelling", async () => {
    const job = await makeJob(database.db, { status: "queued" });
    const cancelled = await post(`/api/jobs/${job.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(await getJob(database.db, job.id)).toMatchObject({
      status: "cancelled",
      failureMessage: "cancelled by admin:token",
    });
    expect((await listJobEvents(database.db, job.id)).at(-1)).toMatchObject({
      actor: "admin:token",
      toStatus: "cancelled",
    });
    expect((await post(`/api/jobs/${job.id}/cancel`)).status).toBe(409);
    const retried = await post(`/api/jobs/${job.id}/retry`);
    expect(retried.status).toBe(201);
    expect(json(retried.body).job).toMatchObject({
      status: "pending",
      retryOf: job.id,
      retryNumber: 1,
      triggeredBy: "admin:token",
    });
    expect((await post(`/api/jobs/${json(retried.body).job.id}/retry`)).status).toBe(409);
    expect((await post("/api/jobs/999/retry")).status).toBe(404);
  });

  it("pauses, resumes and interrupts through the same actions as the comment commands (409 where the state does not allow)", async () => {
    const job = await makeJob(database.db, { status: "queued" });
    const paused = await post(`/api/jobs/${job.id}/pause`);
    expect(paused.status).toBe(200);
    expect(json(paused.body).job).toMatchObject({ status: "deferred", hold: "paused" });
    expect(json((await post(`/api/jobs/${job.id}/pause`)).body).error.message).toMatch(/already held \(paused\)/);
    expect(json((await post(`/api/jobs/${job.id}/resume`)).body).job).toMatchObject({ status: "deferred", hold: null });
    const interrupt = await post(`/api/jobs/${job.id}/interrupt`);
    expect(interrupt.status).toBe(409);
    expect(json(interrupt.body).error.message).toMatch(/only a running job can be interrupted/);
    expect((await post(`/api/jobs/${job.id}/frobnicate`)).status).toBe(404);
    expect((await listJobEvents(database.db, job.id)).map((e) => e.actor)).toContain("admin:token");
  });

  it("a signed-in browser session must send the page's CSRF token, from our own origin, to change anything", async () => {
    const login = await httpRequest(`${web.base}/login`, {
      method: "POST",
      body: `token=${ADMIN_TOKEN}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(login.status).toBe(303);
    const cookie = String(login.headers["set-cookie"]).split(";")[0] ?? "";
    expect(String(login.headers["set-cookie"])).toMatch(/HttpOnly; SameSite=Strict/);
    const pageHtml = (await get("/jobs", { cookie })).body;
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(pageHtml)?.[1] ?? "";
    expect(csrf).not.toBe("");
    const job = await makeJob(database.db, { status: "queued" });
    expect((await post(`/api/jobs/${job.id}/cancel`, { cookie })).status).toBe(403);
    expect((await post(`/api/jobs/${job.id}/cancel`, { cookie, "x-csrf-token": "forged" })).status).toBe(403);
    expect(
      (await post(`/api/jobs/${job.id}/cancel`, { cookie, "x-csrf-token": csrf, origin: "https://evil.example" }))
        .status,
    ).toBe(403);
    expect(await getJob(database.db, job.id)).toMatchObject({ status: "queued" });
    expect((await post(`/api/jobs/${job.id}/cancel`, { cookie, "x-csrf-token": csrf })).status).toBe(200);
  });

  it("slows guessing down — wrong sign-ins, bearer tokens and cookies alike — but never locks the real admin out", async () => {
    const attempt = (token: string) =>
      httpRequest(`${web.base}/login`, {
        method: "POST",
        body: `token=${token}`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    const guesses = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => attempt(`guess-${i}`)),
      ...Array.from({ length: 6 }, () =>
        httpRequest(`${web.base}/api/jobs`, { headers: { authorization: "Bearer nope" } }),
      ),
      ...Array.from({ length: 6 }, () =>
        httpRequest(`${web.base}/api/jobs`, { headers: { cookie: "labelrun_session=1.2.forged" } }),
      ),
    ]);
    const statuses = guesses.map((g) => g.status);
    // A few fail plainly; the rest wait their turn, and those that would wait too long are told 429.
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    expect(statuses).toContain(429);
    // The admin with the right token is neither refused nor kept waiting behind the guesses.
    expect((await attempt(ADMIN_TOKEN)).status).toBe(303);
    expect((await httpRequest(`${web.base}/api/jobs`, { headers: bearer })).status).toBe(200);
  });

  it("the session cookie is Secure when the request came over HTTPS, and signing out expires it", async () => {
    const signIn = (headers: Record<string, string> = {}) =>
      httpRequest(`${web.base}/login`, {
        method: "POST",
        body: `token=${ADMIN_TOKEN}`,
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      });
    const plain = String((await signIn()).headers["set-cookie"] ?? "");
    expect(plain).toMatch(/^labelrun_session=\S+; HttpOnly; SameSite=Strict/);
    expect(plain).not.toContain("Secure");
    const proxied = String((await signIn({ "x-forwarded-proto": "https" })).headers["set-cookie"] ?? "");
    expect(proxied).toContain("; Secure");
    const out = await httpRequest(`${web.base}/logout`, { method: "POST" });
    expect(out.status).toBe(303);
    expect(String(out.headers["set-cookie"])).toMatch(/^labelrun_session=; .*Max-Age=0/);
    const crossSite = await httpRequest(`${web.base}/logout`, {
      method: "POST",
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
  });

  it("streams job changes from any process as Server-Sent Events", async () => {
    const job = await makeJob(database.db, {});
    let moved: Promise<unknown> = Promise.resolve();
    const received = await new Promise<string>((resolve, reject) => {
      const req = request(`${web.base}/api/stream`, { headers: bearer }, (res) => {
        let buffer = "";
        let started = false;
        res.on("data", (chunk: Buffer) => {
          buffer += chunk.toString("utf8");
          if (!started && buffer.includes("retry: 2000")) {
            started = true;
            moved = transitionJob(database.db, {
              jobId: job.id,
              from: "pending",
              to: "queued",
              at: systemClock.now(),
              actor: "test",
            });
          }
          // The creation's own notice may arrive first: wait for the change made after connecting.
          const frame = [...buffer.matchAll(/event: job\ndata: (.+)\n\n/g)].find((m) => m[1]?.includes('"queued"'));
          if (frame?.[1]) {
            req.destroy();
            resolve(frame[1]);
          }
        });
      });
      req.on("error", reject);
      req.end();
    });
    await moved;
    expect(JSON.parse(received)).toEqual({ id: job.id, status: "queued", installationId: 1 });
  });

  it("exports Prometheus metrics: active jobs by state and type, and this process's transitions", async () => {
    const job = await makeJob(database.db, { jobType: "review" });
    await transitionJob(database.db, {
      jobId: job.id,
      from: "pending",
      to: "queued",
      at: systemClock.now(),
      actor: "test",
    });
    const response = await get("/metrics");
    expect(response.status).toBe(200);
    expect(response.body).toContain('labelrun_jobs{state="queued",job_type="review"} 1');
    expect(response.body).toMatch(/labelrun_job_transitions_total\{from="pending",to="queued"\} \d+/);
    expect(response.body).toContain("labelrun_sweep_duration_seconds");
    // The process's own figures: memory and event-loop lag.
    expect(response.body).toMatch(/labelrun_process_resident_memory_bytes \d+/);
    expect(response.body).toContain("labelrun_nodejs_eventloop_lag_seconds");
  });
});

describe("without an ADMIN_TOKEN", () => {
  it("the dashboard and API answer loopback requests only", async () => {
    const auth = new AdminAuth({ clock: systemClock, secureCookies: false });
    const from = (remoteAddress: string) =>
      ({ headers: { host: "127.0.0.1:3000" }, socket: { remoteAddress } }) as never;
    expect(await auth.check(from("127.0.0.1"))).toMatchObject({ ok: true, via: "loopback" });
    expect(await auth.check(from("::1"))).toMatchObject({ ok: true, via: "loopback" });
    expect(await auth.check(from("203.0.113.7"))).toMatchObject({
      ok: false,
      status: 403,
      message: expect.stringMatching(/loopback/),
    });
  });

  it("over HTTP on loopback, the board loads without signing in and says why in the log", async () => {
    const database = await openTestDatabase(driver);
    const web = await startTestWeb(database, { adminToken: null });
    try {
      expect((await httpRequest(`${web.base}/api/jobs`)).status).toBe(200);
      const login = await httpRequest(`${web.base}/login`);
      expect(login.body).toContain("answers on loopback only");
      // A proxy on the same host makes every request look local; a rebound DNS name is not ours.
      const proxied: Array<Record<string, string>> = [
        { "x-forwarded-for": "203.0.113.9" },
        { forwarded: "for=203.0.113.9" },
        { host: "evil.example:3000" },
      ];
      for (const headers of proxied) {
        const refused = await httpRequest(`${web.base}/api/jobs`, { headers });
        expect(refused.status, JSON.stringify(headers)).toBe(403);
      }
      // The CSRF token is random per process, and a malformed Origin is refused, not a 500.
      const page = (await httpRequest(`${web.base}/jobs`)).body;
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? "";
      expect(csrf).not.toBe("loopback");
      expect(csrf.length).toBeGreaterThan(20);
      for (const origin of ["null", "::garbage::"]) {
        const post = await httpRequest(`${web.base}/api/jobs/1/cancel`, {
          method: "POST",
          headers: { origin, "x-csrf-token": csrf },
        });
        expect(post.status, origin).toBe(403);
      }
    } finally {
      await web.close();
      await database.close();
    }
  });
});

describe(`what the web process says about sandboxes (${driver})`, () => {
  let database: TestDatabase;
  let web: Awaited<ReturnType<typeof startTestWeb>>;
  const readiness = {
    sandbox: { available: false, reason: "bubblewrap (bwrap) is not installed" },
    runs: [],
    refuses: { implement: "bubblewrap (bwrap) is not installed" },
  };
  beforeAll(async () => {
    database = await openTestDatabase(driver);
    web = await startTestWeb(database, { unsandboxed: ["trusted"], worker: () => readiness });
  });
  afterAll(async () => {
    await web.close();
    await database.close();
  });

  it("a job of a job type without a sandbox says so loudly on its page; a sandboxed one does not", async () => {
    await seedInstallation(database.db, 1);
    const trusted = await makeJob(database.db, { installationId: 1, jobType: "trusted" });
    const sandboxed = await makeJob(database.db, { installationId: 1, jobType: "implement", targetNumber: 2 });
    const page = (id: number) => httpRequest(`${web.base}/jobs/${id}`, { headers: bearer });
    expect((await page(trusted.id)).body).toMatch(/id="unsandboxed".*without a sandbox/s);
    expect((await page(sandboxed.id)).body).not.toContain("unsandboxed");
  });

  it("a queued job says when no online worker can run it, and why they refuse; once one can, it says so no more", async () => {
    await database.reset();
    await seedInstallation(database.db, 1);
    const job = await makeJob(database.db, { installationId: 1, jobType: "implement", status: "queued" });
    const waiting = async () => {
      const body = (await httpRequest(`${web.base}/jobs/${job.id}`, { headers: bearer })).body;
      return /<th>Waiting<\/th><td>([^<]*)/.exec(body)?.[1];
    };
    expect(await waiting()).toBe("for a worker: no worker is online");
    await announceWorker(database.db, {
      workerId: "w-no-sandbox",
      host: "h",
      runs: ["trusted"],
      refuses: { implement: "bubblewrap (bwrap) is not installed" },
      at: new Date(),
    });
    expect(await waiting()).toBe(
      "for a worker: no online worker can run `implement` jobs: bubblewrap (bwrap) is not installed",
    );
    const board = (await httpRequest(`${web.base}/jobs?fragment=1`, { headers: bearer })).body;
    expect(board).toContain("no online worker can run `implement` jobs");
    await announceWorker(database.db, {
      workerId: "w-ok",
      host: "h",
      runs: ["implement"],
      refuses: {},
      at: new Date(),
    });
    expect(await waiting()).toBe("for a free worker slot");
  });

  it.each([
    ["javascript:", "javascript:fetch('/api/jobs/1/cancel')", 9],
    ["an https URL on another host", "https://evil.example/octo-org/widgets/pull/1", 91],
    ["another repository on GitHub", "https://github.com/someone/else/pull/1", 92],
  ])("a result URL that is %s is shown as text on the job page, never as a link", async (_name, url, targetNumber) => {
    await seedInstallation(database.db, 1);
    const bad = await makeJob(database.db, { installationId: 1, targetNumber });
    await database.db.update(jobs).set({ resultUrl: url }).where(eq(jobs.id, bad.id));
    const body = (await httpRequest(`${web.base}/jobs/${bad.id}`, { headers: bearer })).body;
    expect(body).not.toMatch(/href="(javascript:|https:\/\/evil|https:\/\/github\.com\/someone)/);
    expect(body).toContain("not a link: it is not in octo-org/widgets on GitHub");
  });

  it("a result URL into the job's repository on GitHub is a link", async () => {
    await seedInstallation(database.db, 1);
    const good = await makeJob(database.db, { installationId: 1, targetNumber: 10 });
    const url = "https://github.com/octo-org/widgets/pull/12";
    await database.db.update(jobs).set({ resultUrl: url }).where(eq(jobs.id, good.id));
    const body = (await httpRequest(`${web.base}/jobs/${good.id}`, { headers: bearer })).body;
    expect(body).toContain(`<a href="${url}" rel="noopener noreferrer">`);
  });

  it("every HTML answer forbids inline scripts, <base>, foreign form targets and framing; the scripts are files", async () => {
    await seedInstallation(database.db, 1);
    const job = await makeJob(database.db, { installationId: 1, targetNumber: 11 });
    for (const path of ["/jobs", "/jobs?fragment=1", `/jobs/${job.id}`, "/jobs/history"]) {
      const answer = await httpRequest(`${web.base}${path}`, { headers: bearer });
      const csp = String(answer.headers["content-security-policy"] ?? "");
      expect(csp, path).toMatch(/script-src 'self'(;|$)/);
      expect(csp, path).not.toMatch(/script-src[^;]*unsafe-inline/);
      for (const rule of ["base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
        expect(csp, path).toContain(rule);
      }
      expect(answer.body, path).not.toMatch(/<script>/);
    }
    for (const asset of ["/assets/board.js", "/assets/job.js"]) {
      const answer = await httpRequest(`${web.base}${asset}`);
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    }
  });

  it("/readyz says which job types the worker of this process refuses, and why", async () => {
    const ready = await httpRequest(`${web.base}/readyz`, {});
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).worker).toEqual(readiness);
  });
});
