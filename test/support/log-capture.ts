import { Writable } from "node:stream";
import pino from "pino";

/** A pino logger whose JSON lines are kept, parsed, in `lines` (what a door said, for assertions). */
export function capturedLogger(level = "info") {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level },
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
  return { log, lines };
}
