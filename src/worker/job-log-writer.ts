import type { Database } from "../db/client.js";
import { jobLogs } from "../db/schema.js";
import { cleanAgentText } from "./agent-text.js";

export interface LogLine {
  stream: "stdout" | "stderr" | "system";
  line: string;
  at: Date;
}

export interface JobLogWriterOptions {
  db: Database;
  jobId: number;
  attempt: number;
  mask: (text: string) => string;
  /** Bytes kept per run; past it the head and the tail are kept and the middle is counted. */
  capBytes?: number;
  /** Told when a batch could not be stored (the database is away); the run goes on without it. */
  onError?: (error: unknown) => void;
}

const FLUSH_EVERY_LINES = 200;
const MAX_STORED_LINE_CHARS = 16 * 1024;

/**
 * Stores an agent's output as the job's log, in order, with secrets masked,
 * capped so a chatty agent cannot fill the database: the first half of the
 * cap is written as it comes, then only the last half is kept (in memory)
 * and written at the end after a line saying how much was left out.
 */
export class JobLogWriter {
  private seq = 0;
  private headBytes = 0;
  private readonly buffer: Array<typeof jobLogs.$inferInsert> = [];
  private tail: LogLine[] = [];
  private tailBytes = 0;
  private omittedLines = 0;
  private omittedBytes = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly half: number;

  constructor(private readonly options: JobLogWriterOptions) {
    this.half = Math.floor((options.capBytes ?? 1024 * 1024) / 2);
  }

  write(entry: LogLine): void {
    // Lines come bounded from the process reader (8 KiB and a note); this is the last guard.
    const line = cleanAgentText(this.options.mask(entry.line), MAX_STORED_LINE_CHARS);
    const bytes = Buffer.byteLength(line) + 1;
    if (this.headBytes + bytes <= this.half && this.tail.length === 0) {
      this.headBytes += bytes;
      this.push({ ...entry, line });
      if (this.buffer.length >= FLUSH_EVERY_LINES) void this.flush();
      return;
    }
    this.tail.push({ ...entry, line });
    this.tailBytes += bytes;
    while (this.tailBytes > this.half && this.tail.length > 1) {
      const dropped = this.tail.shift();
      if (!dropped) break;
      const droppedBytes = Buffer.byteLength(dropped.line) + 1;
      this.tailBytes -= droppedBytes;
      this.omittedLines++;
      this.omittedBytes += droppedBytes;
    }
  }

  /** Writes what is buffered (the head). Safe to call at any time. */
  flush(): Promise<void> {
    const rows = this.buffer.splice(0);
    if (!rows.length) return this.flushing;
    // A batch that cannot be stored is reported and dropped: a log is never worth the run (or the process).
    this.flushing = this.flushing
      .then(async () => {
        await this.options.db.insert(jobLogs).values(rows);
      })
      .catch((error: unknown) => this.options.onError?.(error));
    return this.flushing;
  }

  /** Writes everything left, the omission notice and the tail. */
  async close(): Promise<void> {
    if (this.omittedLines) {
      this.push({
        stream: "system",
        line: `[labelrun: ${this.omittedLines} lines (${this.omittedBytes} bytes) left out: the log is capped at ${this.half * 2} bytes per run]`,
        at: this.tail[0]?.at ?? new Date(0),
      });
    }
    for (const entry of this.tail.splice(0)) this.push(entry);
    await this.flush();
  }

  private push(entry: LogLine): void {
    this.buffer.push({
      jobId: this.options.jobId,
      attempt: this.options.attempt,
      seq: this.seq++,
      stream: entry.stream,
      line: entry.line,
      at: entry.at,
    });
  }
}
