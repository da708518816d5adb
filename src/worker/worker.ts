import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Timer } from "../clock.js";
import type { DatabaseHandle } from "../db/client.js";
import type { JobRow } from "../db/schema.js";
import { claimAndLook } from "../jobs/claim-next-job.js";
import { JOB_CHANNEL, parseJobNotice } from "../jobs/notify.js";
import { isTerminal } from "../jobs/states.js";
import { announceWorker, forgetWorker } from "./presence-store.js";
import { type RunJobDeps, runJob } from "./run-job.js";

export interface WorkerOptions {
  /** Jobs this process runs at once. */
  slots: number;
  installationLimit: number;
  /** Idle workers poll this often when no notification arrives (a lost NOTIFY only delays). */
  pollIntervalMs: number;
  /** On stop, how long running agents may finish before they are stopped and handed back. */
  shutdownGraceMs: number;
  /** The job types this worker claims (default: all); a sandboxed type is left out where the sandbox cannot start. */
  runsJobTypes?: readonly string[];
  /** Job type → why this worker does not claim it; recorded with its presence. */
  refuses?: Readonly<Record<string, string>>;
}

/** How often a worker renews its presence (well inside the presence window). */
const PRESENCE_EVERY_MS = 20_000;

interface Run {
  cancel: AbortController;
  done: Promise<unknown>;
}

/**
 * The claim loop: keeps up to `slots` agents running (a slot is free again once
 * its run's outcome is known, while its end is still being recorded), wakes on NOTIFY when a
 * job is queued (or polls), stops an agent whose job was cancelled, and on
 * `stop()` stops claiming, waits a grace period, then stops the agents and
 * hands their jobs back (`deferred`, `WORKER_LOST`).
 */
export class Worker {
  /** Runs whose agent is at work: at most `slots`. */
  private readonly running = new Map<number, Run>();
  /**
   * Runs whose agent is over, still recording their end, telling the status comment (paced by
   * GitHub) and removing their workspace: their slot already runs the next agent. Running and
   * ending runs together are at most twice `slots`, so a slow database or GitHub slows the claims.
   */
  private readonly ending = new Map<number, Run>();
  private readonly shutdown = new AbortController();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private presence: Timer | null = null;
  /** Whether this worker's last claim found nothing to claim (it waits for a notice or the poll). */
  private foundNothing = false;
  private claiming = false;
  /** A job announced as queued since then: the next claim tries it first (see ClaimRequest.first). */
  private announced: number | undefined;
  /**
   * The last claim saw no more due jobs than it took and no job was announced as queued since it
   * began: a free slot waits for a notice (or the poll) instead of claiming at once, which
   * would find nothing.
   */
  private drained = false;
  /** A job was announced as queued since the last claim began. */
  private queuedSinceClaim = false;
  /** When the last claim began, by the clock (the poll claims again this long after it at the latest). */
  private lastClaimAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: RunJobDeps & { handle: DatabaseHandle },
    private readonly options: WorkerOptions,
  ) {}

  get log(): Logger {
    return this.deps.log;
  }

  async start(): Promise<void> {
    this.unlisten = await this.deps.handle.listen(JOB_CHANNEL, (payload) => {
      const notice = parseJobNotice(payload);
      if (!notice) return;
      if (notice.status === "queued") {
        // An idle or drained worker goes straight to a newly queued job; a busy one looks along the queue as always.
        if (this.foundNothing || this.claiming || this.drained) this.announced ??= notice.id;
        this.queuedSinceClaim = true;
        this.drained = false;
      }
      // A job queued, or a running one ended somewhere (a slot of its installation is free): look now.
      if (notice.status === "queued" || isTerminal(notice.status) || notice.status === "deferred") this.wake?.();
      // Cancelled (or ended by the sweep) while our agent runs: stop it now.
      if (isTerminal(notice.status) || notice.status === "deferred") this.running.get(notice.id)?.cancel.abort();
    });
    await this.announce();
    this.presence = this.deps.clock.setInterval(() => void this.announce(), PRESENCE_EVERY_MS, { background: true });
    this.loop = this.claimLoop();
    this.log.info({ workerId: this.deps.settings.workerId, slots: this.options.slots }, "worker started");
  }

  /** Jobs running on this worker now. */
  get runningJobIds(): number[] {
    return [...this.running.keys()];
  }

  async stop(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.log.info({ running: this.runningJobIds }, "worker stopping: no more claims");
    const graceOver = new Promise<void>((resolve) => {
      this.deps.clock.setTimeout(resolve, this.options.shutdownGraceMs, { background: true });
    });
    const allDone = Promise.all(this.runs().map((r) => r.done));
    this.wake?.();
    const stopClaiming = this.stopClaiming();
    await Promise.race([allDone, graceOver]);
    // Agents still running past the grace period are stopped; their jobs go back (WORKER_LOST).
    this.shutdown.abort();
    await Promise.all(this.runs().map((r) => r.done));
    await stopClaiming;
    await this.unlisten?.();
    this.presence?.cancel();
    await forgetWorker(this.deps.db, this.deps.settings.workerId).catch(() => {});
  }

  /** Tells every process which job types this worker runs (the board's "waiting for a worker"). */
  private async announce(): Promise<void> {
    const runs = [...(this.options.runsJobTypes ?? this.deps.jobTypes.byName.keys())];
    await announceWorker(this.deps.db, {
      workerId: this.deps.settings.workerId,
      host: hostname(),
      runs,
      refuses: { ...(this.options.refuses ?? {}) },
      at: this.deps.clock.now(),
    }).catch((error: unknown) => this.log.warn({ err: error }, "could not record this worker's presence"));
  }

  private stopping = false;
  private async stopClaiming(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      let claimed: JobRow[] = [];
      const { slots } = this.options;
      const free = Math.min(slots - this.running.size, 2 * slots - this.running.size - this.ending.size);
      const polled = this.deps.clock.now().getTime() - this.lastClaimAt >= this.options.pollIntervalMs;
      const claimNow = free > 0 && (!this.drained || polled);
      if (claimNow) {
        const first = this.announced;
        this.announced = undefined;
        this.claiming = true;
        this.queuedSinceClaim = false;
        this.lastClaimAt = this.deps.clock.now().getTime();
        let moreDue = true;
        try {
          // Up to every free slot at once (one installation's jobs per claim).
          ({ jobs: claimed, moreDue } = await claimAndLook(
            this.deps.db,
            {
              workerId: this.deps.settings.workerId,
              at: this.deps.clock.now(),
              leaseSeconds: this.deps.settings.leaseSeconds,
              installationLimit: this.options.installationLimit,
              jobTypeLimits: this.jobTypeLimits(),
              jobTypes: this.options.runsJobTypes ?? [...this.deps.jobTypes.byName.keys()],
              first,
            },
            free,
          ));
          this.foundNothing = claimed.length === 0;
          // A job announced while this claim took others waits its turn along the queue.
          if (claimed.length) this.announced = undefined;
        } catch (error) {
          // The database is away: wait and try again; nothing was claimed.
          this.log.warn({ err: error }, "claim failed; retrying after the poll interval");
        } finally {
          this.claiming = false;
        }
        this.drained = !moreDue && !this.queuedSinceClaim;
      }
      if (claimed.length) {
        for (const job of claimed) this.startJob(job);
        if (!this.drained) continue;
      }
      // Drained with a slot free: wait for a notice, or until the poll is due since the last claim.
      const waitMs =
        free > 0 && !claimNow ? this.lastClaimAt + this.options.pollIntervalMs - this.deps.clock.now().getTime() : 0;
      await new Promise<void>((resolve) => {
        const timer = this.deps.clock.setTimeout(resolve, waitMs > 0 ? waitMs : this.options.pollIntervalMs);
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private startJob(job: JobRow): void {
    const cancel = new AbortController();
    const onRunOver = () => {
      const run = this.running.get(job.id);
      if (!run) return;
      this.running.delete(job.id);
      this.ending.set(job.id, run);
      this.wake?.();
    };
    // Recorded before the run starts: a run can be over before its first await (an unknown job type).
    const run: Run = { cancel, done: Promise.resolve() };
    this.running.set(job.id, run);
    run.done = runJob(this.deps, job, { shutdown: this.shutdown.signal, cancelled: cancel.signal, onRunOver })
      .catch((error: unknown) => this.log.error({ err: error, jobId: job.id }, "running the job failed unexpectedly"))
      .finally(() => {
        this.running.delete(job.id);
        this.ending.delete(job.id);
        this.wake?.();
      });
  }

  /** Every run this worker has not finished with, its agent at work or over. */
  private runs(): Run[] {
    return [...this.running.values(), ...this.ending.values()];
  }

  private jobTypeLimits(): Record<string, number> {
    const limits: Record<string, number> = {};
    for (const [name, config] of this.deps.jobTypes.byName) if (config.concurrency) limits[name] = config.concurrency;
    return limits;
  }
}
