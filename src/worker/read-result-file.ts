import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** The largest result file the worker reads. */
export const MAX_RESULT_BYTES = 1024 * 1024;

export type ResultFile = { kind: "none" } | { kind: "refused"; problem: string } | { kind: "text"; text: string };

/**
 * Reads the agent's result file as a stranger's: only a regular file with one
 * link, opened without following a symlink and without blocking (a FIFO or a
 * device never stalls the worker), and at most `MAX_RESULT_BYTES`. What it
 * refuses is said without quoting a byte of it.
 */
export async function readResultFile(path: string, maxBytes = MAX_RESULT_BYTES): Promise<ResultFile> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "none" };
    if (code === "ELOOP")
      return { kind: "refused", problem: "the result file is a symbolic link; write a regular file" };
    return { kind: "refused", problem: `the result file cannot be opened (${code ?? "error"})` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      return { kind: "refused", problem: "the result file is not a regular file; write a regular file" };
    if (stat.nlink !== 1) return { kind: "refused", problem: "the result file has other hard links; write a new file" };
    if (stat.size > maxBytes) {
      return { kind: "refused", problem: `the result file is ${stat.size} bytes; the limit is ${maxBytes}` };
    }
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes)
      return { kind: "refused", problem: `the result file is over the limit of ${maxBytes} bytes` };
    return { kind: "text", text: new TextDecoder("utf-8").decode(buffer.subarray(0, bytesRead)) };
  } finally {
    await handle.close();
  }
}
