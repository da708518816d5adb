import type { Readable } from "node:stream";
import { cleanAgentText } from "./agent-text.js";

/**
 * Splits a child's output into lines from its bytes, never holding more than
 * `maxLineBytes` of one line: past it the line is cut and the rest of it, up
 * to the next newline, is counted and dropped (a 600 MiB line costs 64 KiB).
 * Invalid UTF-8 becomes U+FFFD and NUL is replaced, so every line can be stored.
 */
export function readLines(
  input: Readable,
  maxLineBytes: number,
  onLine: (line: string) => void,
  onEnd: () => void,
): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropped = 0;
  const emit = () => {
    const bytes = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    let line = cleanAgentText(new TextDecoder("utf-8").decode(bytes));
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (dropped) line += ` [labelrun: line cut, ${dropped} more bytes left out]`;
    dropped = 0;
    onLine(line);
  };
  const take = (chunk: Buffer) => {
    if (dropped) {
      dropped += chunk.length;
      return;
    }
    const room = maxLineBytes - pendingBytes;
    if (chunk.length <= room) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      return;
    }
    pending.push(chunk.subarray(0, room));
    pendingBytes += room;
    dropped = chunk.length - room;
  };
  input.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      take(chunk.subarray(start, newline));
      emit();
      start = newline + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (pendingBytes || dropped) emit();
    onEnd();
  };
  input.on("end", end);
  input.on("close", end);
  input.on("error", end);
}
