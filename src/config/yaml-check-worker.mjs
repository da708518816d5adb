// Reads untrusted YAML off the main thread (src/config/yaml-check.ts): how long the parse took,
// and whether its shape stays within bounds that make parsing it again cheap. Plain JavaScript,
// so it runs as a worker however the process was started.
import { parentPort, workerData } from "node:worker_threads";
import { parse } from "yaml";

const { text, maxKeysPerMap, maxNodes } = workerData;
const started = performance.now();
let result;
try {
  const value = parse(text, { logLevel: "error", maxAliasCount: 50 });
  const ms = performance.now() - started;
  let nodes = 0;
  let problem = null;
  const walk = (node) => {
    if (problem || node === null || typeof node !== "object") return;
    nodes++;
    const keys = Object.keys(node);
    if (!Array.isArray(node) && keys.length > maxKeysPerMap)
      problem = `a mapping has ${keys.length} keys; labelrun reads at most ${maxKeysPerMap}`;
    else if (nodes > maxNodes) problem = `it has more than ${maxNodes} mappings and lists`;
    else for (const key of keys) walk(node[key]);
  };
  walk(value);
  result = { ms, problem };
} catch (error) {
  const message = String(error?.message ?? error);
  // Nesting deep enough to exhaust the parser's stack is refused here, not re-parsed on the event loop.
  // Any other syntax error is the main parser's to report (with its line and column): it ended, in time.
  result = {
    ms: performance.now() - started,
    problem: /call stack/i.test(message)
      ? "it nests too deeply to read"
      : /alias/i.test(message) && /excessive|count/i.test(message)
        ? "it expands too many aliases"
        : null,
  };
}
parentPort.postMessage(result);
