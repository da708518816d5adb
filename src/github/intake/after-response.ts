import type { Logger } from "pino";
import type { AfterResponse } from "./intake-deps.js";

/**
 * Runs follow-up work (dispatch, comment edits) once the webhook handler has
 * returned, so GitHub's delivery is answered without waiting on GitHub's API.
 * A failing task is logged once; whatever it left undone stays in the
 * database for the maintenance sweep. `idle()` waits for everything started
 * (tests, graceful shutdown).
 */
export class AfterResponseTasks implements AfterResponse {
  private readonly running = new Set<Promise<unknown>>();
  constructor(private readonly log: Logger) {}

  run(name: string, task: () => Promise<unknown>): void {
    const promise = new Promise<void>((resolve) => setImmediate(resolve))
      .then(task)
      .catch((error: unknown) => this.log.error({ err: error, task: name }, `${name} failed`))
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Resolves when no task is running, including tasks started by tasks. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}
