import { Worker } from "node:worker_threads";

export interface YamlLimits {
  /** A parse that takes longer than this (in the worker) is refused: parsing it again on the event loop would stall it. */
  maxParseMs: number;
  /** The worker's whole life (start-up included); past it, it is stopped. */
  hardTimeoutMs: number;
  maxKeysPerMap: number;
  maxNodes: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxParseMs: 250,
  hardTimeoutMs: 3_000,
  maxKeysPerMap: 200,
  maxNodes: 2_000,
};

const WORKER = new URL("./yaml-check-worker.mjs", import.meta.url);

/**
 * Reads untrusted YAML in a worker thread, with a time limit and a small
 * heap, and says why it must be refused (too slow to parse, too many keys,
 * too large a shape) or null when parsing it on the event loop is cheap.
 * A syntax error is not refused here: the caller's parser reports it with
 * its line and column (the worker's parse ended within the limit, so that
 * one will too).
 */
export function yamlProblem(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): Promise<string | null> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, {
      workerData: { text, maxKeysPerMap: limits.maxKeysPerMap, maxNodes: limits.maxNodes },
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      // Nothing of the parent's loader (tsx) is needed: the worker is plain JavaScript.
      execArgv: [],
    });
    let settled = false;
    const finish = (problem: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(problem);
    };
    const timer = setTimeout(
      () => finish(`reading it took longer than ${limits.hardTimeoutMs} ms; labelrun stopped`),
      limits.hardTimeoutMs,
    );
    worker.once("message", (result: { ms: number; problem: string | null }) => {
      if (result.problem) return finish(result.problem);
      if (result.ms > limits.maxParseMs)
        return finish(
          `reading it took ${Math.round(result.ms)} ms; labelrun reads only files that take under ${limits.maxParseMs} ms`,
        );
      finish(null);
    });
    worker.once("error", (error) => finish(`it could not be read: ${error.message.slice(0, 200)}`));
    worker.once("exit", (code) => finish(code === 0 ? null : `reading it stopped (worker exit ${code})`));
  });
}
